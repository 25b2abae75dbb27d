"""Render videos on a Dagster instance: register partitions, then run the jobs in order.

prepare_video (spec, storyboard, music) -> chunk_pairs (one run per pair, several at once) ->
assemble_video (stitched, final). Every run is recorded in the instance, so `dagster dev` on the same
`DAGSTER_HOME` shows them with their metadata and checks.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from vidgen_assets.core.plan import Plan
from vidgen_assets.core.spec import Spec
from vidgen_assets.defs import build_definitions
from vidgen_assets.defs.partitions import pair_partition_key
from vidgen_assets.settings import Settings
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import load_plan

HOME_ENV = "DAGSTER_HOME"
DEFAULT_HOME = ".dagster_home"

Progress = Callable[[str], None]
# Keep Dagster's console logger to warnings: the runner prints its own progress; the UI has every event.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class RenderFailed(RuntimeError):
    """A stage failed; the message names the video, the stage (and pair) and the reason."""


@dataclass
class RenderReport:
    video_id: str
    final_uri: str
    wall_s: float
    stages_s: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    cost_usd: float = 0.0


def dagster_home(home: Path | None = None) -> Path:
    """The persistent instance's directory: `home`, else `$DAGSTER_HOME`, else `./.dagster_home`."""
    path = (home or Path(os.environ.get(HOME_ENV) or DEFAULT_HOME)).absolute()
    path.mkdir(parents=True, exist_ok=True)
    return path


def instance_at(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(home))


def _failure(result: dg.ExecuteInProcessResult) -> str:
    messages = []
    for event in result.all_events:
        if event.event_type_value in ("STEP_FAILURE", "RUN_FAILURE") and event.message:
            error = getattr(event.event_specific_data, "error", None)
            while error is not None and getattr(error, "cause", None) is not None:
                error = error.cause  # the user's exception, not Dagster's wrapper
            detail = getattr(error, "message", "") if error is not None else ""
            messages.append(f"{event.step_key or 'run'}: {(detail or event.message).strip()}")
    for event in result.all_events:
        evaluation = event.event_specific_data
        if isinstance(evaluation, dg.AssetCheckEvaluation) and not evaluation.passed:
            messages.append(f"check {evaluation.check_name} failed: {dict(evaluation.metadata)}")
    return "\n".join(dict.fromkeys(messages)) or "the run failed (see the Dagster UI for its logs)"


def _execute(defs: dg.Definitions, instance: dg.DagsterInstance, job: str, partition_key: str, where: str) -> None:
    result = defs.resolve_job_def(job).execute_in_process(
        partition_key=partition_key, instance=instance, raise_on_error=False, run_config=QUIET
    )
    if not result.success:
        raise RenderFailed(f"{where}: {job} failed\n{_failure(result)}")


_worker: tuple[dg.Definitions, dg.DagsterInstance] | None = None


def _run_pair(settings: Settings, home: str, partition_key: str, where: str) -> float:
    """One chunk-pair run, in a worker process (each worker keeps its definitions and instance)."""
    global _worker
    if _worker is None:
        _worker = (build_definitions(settings), instance_at(Path(home)))
    start = time.perf_counter()
    _execute(*_worker, "chunk_pairs", partition_key, where)
    return time.perf_counter() - start


class Runner:
    """Renders registered specs with one set of settings on the instance at `home`.

    A video's pairs run concurrently in worker processes, each pair its own Dagster run. (Not threads:
    Dagster reconfigures Python logging when a run starts, which can deadlock runs in other threads.)
    """

    def __init__(self, settings: Settings, home: Path, progress: Progress = print) -> None:
        self.settings = settings
        self.home = home
        self.instance = instance_at(home)
        self.progress = progress
        self.defs = build_definitions(settings)
        self.store = settings.store()

    def register(self, spec: Spec, source_text: str) -> None:
        """Save the spec as written and add its `videos` partition."""
        key = layout.video_key(spec.id, layout.SPEC_SOURCE)
        data = source_text.encode("utf-8")
        if not self.store.exists(key) or self.store.get_bytes(key) != data:
            self.store.put_bytes(key, data)
        if not self.instance.has_dynamic_partition("videos", spec.id):
            self.instance.add_dynamic_partitions("videos", [spec.id])

    def _run(self, job: str, partition_key: str, where: str) -> None:
        _execute(self.defs, self.instance, job, partition_key, where)

    def render(self, spec: Spec, source_text: str) -> RenderReport:
        start = time.perf_counter()
        video_id = spec.id
        stages: dict[str, float] = {}
        self.register(spec, source_text)

        self.progress(f"[{video_id}] prepare: plan, storyboard, music")
        t = time.perf_counter()
        self._run("prepare_video", video_id, f"video {video_id!r}")
        stages["prepare_video"] = time.perf_counter() - t
        plan = load_plan(self.store, video_id)
        if plan is None:
            raise RenderFailed(f"video {video_id!r}: prepare_video stored no plan")

        t = time.perf_counter()
        self.render_pairs(plan)
        stages["chunk_pairs"] = time.perf_counter() - t

        self.progress(f"[{video_id}] assemble: stitch {len(plan.chunks)} chunks, text, music, final encode")
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

    def render_pairs(self, plan: Plan) -> None:
        """Run every chunk pair of the plan, `max_parallel_pairs` at a time; fail after all have finished."""
        new = [k for k in plan.pair_keys if not self.instance.has_dynamic_partition("pairs", k)]
        if new:
            self.instance.add_dynamic_partitions("pairs", new)
        total = len(plan.pair_keys)
        self.progress(f"[{plan.video_id}] chunk pairs: {total} pair(s), {len(plan.chunks)} chunk(s)")
        failures: list[str] = []
        workers = min(self.settings.max_parallel_pairs, total)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {
                pool.submit(
                    _run_pair, self.settings, str(self.home), pair_partition_key(key, plan.video_id),
                    f"video {plan.video_id!r}, chunk pair {key} (partition {pair_partition_key(key, plan.video_id)!r})",
                ): key
                for key in plan.pair_keys
            }  # fmt: skip
            for done, future in enumerate(as_completed(futures), start=1):
                key = futures[future]
                try:
                    seconds = future.result()
                    self.progress(f"[{plan.video_id}] pair {done}/{total} done: {key} ({seconds:.1f} s)")
                except RenderFailed as exc:
                    failures.append(str(exc))
                    self.progress(f"[{plan.video_id}] pair {done}/{total} FAILED: {key}")
        if failures:
            raise RenderFailed("\n".join(failures))
