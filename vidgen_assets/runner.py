"""Render videos on a Dagster instance: register partitions, then run the jobs in order.

prepare_video (spec, storyboard) -> chunk_pairs (one run per pair, several at once, in warm worker
processes) with make_music alongside them in this process -> assemble_video (stitched, final). Every run
is recorded in the instance, so `dagster dev` on the same `DAGSTER_HOME` shows them with their metadata
and checks.

The worker pool is started before the storyboard is drawn, so the workers' start-up (importing Dagster,
loading the definitions) overlaps it, and it is kept for the runner's life, so the next video's pairs
start at once.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import dagster as dg

from vidgen_assets import processes
from vidgen_assets.core.plan import Plan
from vidgen_assets.core.spec import Spec
from vidgen_assets.defs import build_definitions
from vidgen_assets.defs.partitions import pair_partition_key
from vidgen_assets.references import LoadedReference, store_references
from vidgen_assets.settings import Settings
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import load_plan
from vidgen_assets.storage.lock import Locked, video_lock

EXAMPLE_INSTANCE = resources.files("vidgen_assets") / "dagster.yaml"

Progress = Callable[[str], None]


class RenderFailed(RuntimeError):
    """A stage failed. `str()` is the summary a terminal shows: the video, the stage (and pair) and the
    cause in a few lines; `detail` adds the full tracebacks (`vidgen render --verbose`)."""

    def __init__(self, summary: str, detail: str = "") -> None:
        super().__init__(summary, detail or summary)  # both in args: it crosses process boundaries

    def __str__(self) -> str:
        return str(self.args[0])

    @property
    def detail(self) -> str:
        return str(self.args[1])

    @classmethod
    def join(cls, failures: list[RenderFailed]) -> RenderFailed:
        return cls("\n".join(str(f) for f in failures), "\n\n".join(f.detail for f in failures))


@dataclass
class RenderReport:
    video_id: str
    final_uri: str
    wall_s: float
    stages_s: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    cost_usd: float = 0.0


def dagster_home(settings: Settings, home: Path | None = None) -> Path:
    """The persistent instance's directory: `home`, else `$DAGSTER_HOME`, else `./.dagster_home`. A home
    without a `dagster.yaml` gets vidgen's (telemetry off, run monitoring on), so Dagster has nothing to
    warn about."""
    path = settings.home(home)
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    if not config.exists():
        config.write_bytes(EXAMPLE_INSTANCE.read_bytes())
    return path


def instance_at(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(home))


STDERR_LINES = 3
"""The last lines of a tool's stderr (ffmpeg's) that a failure's summary shows."""


def short_cause(message: str) -> str:
    """An exception's message in a few lines: its first line (class name without its module), and
    the last lines of the stderr it carries, if any."""
    head, _, rest = message.strip().partition("\n")
    name, sep, text = head.partition(": ")
    if sep and " " not in name:
        head = f"{name.rsplit('.', 1)[-1]}: {text}"
    _, found, stderr = rest.rpartition("stderr:\n")
    tail = [line.strip() for line in stderr.splitlines() if line.strip()][-STDERR_LINES:] if found else []
    return "\n".join([head, *(f"  {line}" for line in tail)])


def _failure(result: dg.ExecuteInProcessResult) -> tuple[str, str]:
    """What failed in a run: a few lines (each failed step and its cause), and the same with tracebacks."""
    short: list[str] = []
    full: list[str] = []
    for event in result.all_events:
        if event.event_type_value in ("STEP_FAILURE", "RUN_FAILURE") and event.message:
            top = getattr(event.event_specific_data, "error", None)
            error = top
            while error is not None and getattr(error, "cause", None) is not None:
                error = error.cause  # the user's exception, not Dagster's wrapper
            detail = getattr(error, "message", "") if error is not None else ""
            where = event.step_key or "run"
            if event.event_type_value == "RUN_FAILURE" and short:
                continue  # the run failed because of the steps above
            short.append(f"{where}: {short_cause(detail or event.message)}")
            full.append(f"{where}: {top.to_string() if top is not None else event.message}")
    for event in result.all_events:
        evaluation = event.event_specific_data
        if isinstance(evaluation, dg.AssetCheckEvaluation) and not evaluation.passed:
            line = f"check {evaluation.check_name} failed: {dict(evaluation.metadata)}"
            short.append(line)
            full.append(line)
    if not short:
        short = full = ["the run failed (see the Dagster UI for its logs)"]
    return "\n".join(dict.fromkeys(short)), "\n".join(dict.fromkeys(full))


def run_config(verbose: bool = False) -> dict[str, Any]:
    """Dagster's console logger stays silent (the runner prints its own progress and a failure's summary;
    the UI has every event), or shows errors with their tracebacks when `verbose`."""
    return {"loggers": {"console": {"config": {"log_level": "ERROR" if verbose else "CRITICAL"}}}}


def _execute(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    job: str,
    partition_key: str,
    where: str,
    config: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    result = defs.resolve_job_def(job).execute_in_process(
        partition_key=partition_key,
        instance=instance,
        raise_on_error=False,
        run_config=config or run_config(),
        tags=tags,
    )
    if not result.success:
        short, full = _failure(result)
        head = f"{where}, stage {job} (run {result.run_id})"
        raise RenderFailed(f"{head}:\n{_indent(short)}", f"{head}:\n{_indent(full)}")


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


_worker: tuple[dg.Definitions, dg.DagsterInstance] | None = None


def _worker_start(owner: processes.Owner) -> None:
    """A new worker ends itself and its ffmpeg children as soon as the runner's process is gone."""
    processes.watch_owner(owner)


def _warm(settings: Settings, home: str) -> None:
    """Load the definitions and the instance in a worker process, once. The worker is handed the
    runner's `Settings` (it is forked from the fork server, whose environment may be older than the
    runner's: nothing in it reads the environment)."""
    global _worker
    if _worker is None:
        _worker = (build_definitions(settings), instance_at(Path(home)))


def worker_context() -> multiprocessing.context.BaseContext:
    """Workers are forked from a fork server that has imported Dagster and vidgen once: a new worker
    costs a fork, not the seconds of CPU that importing Dagster takes (which on a small machine
    delayed everything else running at the time). The fork server itself is single-threaded, so
    forking it is safe, unlike forking this process."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["vidgen_assets.runner", "vidgen_assets.fork_server"])
    return context


def _run_pair(
    settings: Settings, home: str, partition_key: str, where: str, verbose: bool = False, session: str = ""
) -> float:
    """One chunk-pair run, in a worker process (each worker keeps its definitions and instance)."""
    _warm(settings, home)
    assert _worker is not None
    start = time.perf_counter()
    _execute(*_worker, "chunk_pairs", partition_key, where, run_config(verbose), processes.run_tags(session))
    return time.perf_counter() - start


def pair_workers(settings: Settings, backend_name: str, pairs: int | None) -> int:
    """How many pairs run at once: `max_parallel_pairs`, no more than there are pairs and, for a
    backend that computes on this machine (the animatic), no more than its CPUs: more would only add
    memory."""
    workers = settings.max_parallel_pairs
    if pairs is not None:
        workers = min(workers, pairs)
    if backend_name in LOCAL_BACKENDS:
        workers = min(workers, usable_cpus())
    return max(1, workers)


LOCAL_BACKENDS = frozenset({"animatic"})


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, e.g. a container's cpuset), else the machine's."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Runner:
    """Renders registered specs with one set of settings on the instance at `home`.

    A video's pairs run concurrently in worker processes, each pair its own Dagster run. (Not threads:
    Dagster reconfigures Python logging when a run starts, which can deadlock runs in other threads.)
    With `keep_workers` the pool outlives a render, for the next video (then use the runner as a context
    manager, or call `close()`); otherwise each render stops its workers when it ends.
    """

    def __init__(
        self,
        settings: Settings,
        home: Path,
        progress: Progress = print,
        keep_workers: bool = False,
        verbose: bool = False,
    ) -> None:
        self.settings = settings
        self.verbose = verbose
        self.session = uuid.uuid4().hex
        """Tags every run of this runner (with the process that executes it): see `processes`."""
        self.keep_workers = keep_workers
        self.home = home
        self.instance = instance_at(home)
        self.progress = progress
        self.defs = build_definitions(settings)
        self.store = settings.store()
        self._pool: ProcessPoolExecutor | None = None
        self._pool_size = 0

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes (they are started again if the runner renders once more)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool, self._pool_size = None, 0

    def _workers(self, size: int) -> ProcessPoolExecutor:
        """The warm pool of exactly `size` workers (a kept pool of another size is replaced); new
        workers start loading now."""
        if self._pool is None or self._pool_size != size:
            self.close()
            self._pool = ProcessPoolExecutor(
                size,
                mp_context=worker_context(),
                initializer=_worker_start,
                initargs=(processes.Owner.current(),),
            )
            self._pool_size = size
            for _ in range(size):
                self._pool.submit(_warm, self.settings, str(self.home))
        return self._pool

    def register(self, spec: Spec, source_text: str, references: Sequence[LoadedReference] = ()) -> None:
        """Save the spec as written and its reference images, and add its `videos` partition."""
        store_references(self.store, spec.id, references)
        key = layout.video_key(spec.id, layout.SPEC_SOURCE)
        data = source_text.encode("utf-8")
        if not self.store.exists(key) or self.store.get_bytes(key) != data:
            self.store.put_bytes(key, data)
        if not self.instance.has_dynamic_partition("videos", spec.id):
            self.instance.add_dynamic_partitions("videos", [spec.id])

    def _run(self, job: str, partition_key: str, where: str) -> None:
        tags = processes.run_tags(self.session)
        _execute(self.defs, self.instance, job, partition_key, where, run_config(self.verbose), tags)

    def render(self, spec: Spec, source_text: str, references: Sequence[LoadedReference] = ()) -> RenderReport:
        """Render one spec to its final video; raises `RenderFailed` naming the stage (and pair).

        `references`: the spec's reference images, read and checked (`references.read_local_references`)."""
        try:
            with video_lock(self.store, spec.id, "vidgen render"):
                return self._render(spec, source_text, references)
        except Locked as exc:
            raise RenderFailed(f"video {spec.id!r}: not rendered: {exc}") from None
        finally:
            if not self.keep_workers:
                self.close()

    def _render(self, spec: Spec, source_text: str, references: Sequence[LoadedReference]) -> RenderReport:
        start = time.perf_counter()
        video_id = spec.id
        stages: dict[str, float] = {}
        self.register(spec, source_text, references)
        pool = self._workers(
            pair_workers(self.settings, spec.backend, len(spec.beats) if spec.beats is not None else None)
        )

        self.progress(f"[{video_id}] prepare: plan, storyboard")
        t = time.perf_counter()
        self._run("prepare_video", video_id, f"video {video_id!r}")
        stages["prepare_video"] = time.perf_counter() - t
        plan = load_plan(self.store, video_id)
        if plan is None:
            raise RenderFailed(f"video {video_id!r}: prepare_video stored no plan")

        t = time.perf_counter()
        self.render_pairs(plan, pool, stages)
        stages["chunk_pairs"] = time.perf_counter() - t

        self.progress(f"[{video_id}] assemble: stitch {len(plan.chunks)} chunks, text, music, final")
        t = time.perf_counter()
        self._run("assemble_video", video_id, f"video {video_id!r}")
        stages["assemble_video"] = time.perf_counter() - t

        final = layout.video_key(video_id, "final.mp4")
        cost = self._final_cost(video_id)
        return RenderReport(video_id, self.store.uri(final), time.perf_counter() - start, stages, plan.warnings, cost)

    def _final_cost(self, video_id: str) -> float:
        import json

        key = layout.video_key(video_id, layout.MANIFESTS["final_video"])
        return float(json.loads(self.store.get_bytes(key)).get("cost_usd", 0.0))

    def render_pairs(
        self, plan: Plan, pool: ProcessPoolExecutor | None = None, stages: dict[str, float] | None = None
    ) -> None:
        """Run every chunk pair of the plan in the worker pool, and the music here meanwhile; fail after
        all have finished, naming each failure."""
        new = [k for k in plan.pair_keys if not self.instance.has_dynamic_partition("pairs", k)]
        if new:
            self.instance.add_dynamic_partitions("pairs", new)
        total = len(plan.pair_keys)
        if pool is None:
            pool = self._workers(pair_workers(self.settings, plan.spec.backend, total))
        self.progress(f"[{plan.video_id}] chunk pairs: {total} pair(s), {len(plan.chunks)} chunk(s); music alongside")
        futures = {
            pool.submit(
                _run_pair, self.settings, str(self.home), pair_partition_key(key, plan.video_id),
                f"video {plan.video_id!r}, chunk pair {key} (partition {pair_partition_key(key, plan.video_id)!r})",
                self.verbose,
                self.session,
            ): key
            for key in plan.pair_keys
        }  # fmt: skip
        failures: list[RenderFailed] = []
        t = time.perf_counter()
        try:
            self._run("make_music", plan.video_id, f"video {plan.video_id!r}, music")
        except RenderFailed as exc:
            failures.append(exc)
        if stages is not None:
            stages["music"] = time.perf_counter() - t
        for done, future in enumerate(as_completed(futures), start=1):
            key = futures[future]
            try:
                seconds = future.result()
                self.progress(f"[{plan.video_id}] pair {done}/{total} done: {key} ({seconds:.1f} s)")
            except RenderFailed as exc:
                failures.append(exc)
                self.progress(f"[{plan.video_id}] pair {done}/{total} FAILED: {key}")
            except BrokenProcessPool as exc:
                self.close()  # a worker died (killed, out of memory): the next render starts a new pool
                failures.append(
                    RenderFailed(f"video {plan.video_id!r}, chunk pair {key}: its worker process died ({exc})")
                )
        if failures:
            raise RenderFailed.join(failures)
