"""Render videos on a Dagster instance: register the video, then execute the one job, `render_video`,
for its partition, in this process.

The job is the same one the spec sensor and the UI launch (`defs.jobs`): every stage whose inputs changed
is materialized, in one run, its chunk pairs in parallel inside the `chunk_pairs` step. The run is recorded
in the instance, so `dagster dev` on the same `DAGSTER_HOME` shows it with its metadata and checks.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import dagster as dg

from vidgen_assets import processes
from vidgen_assets.comfy_workflows import LoadedWorkflow, store_workflows
from vidgen_assets.core.errors import short_cause
from vidgen_assets.core.spec import Spec
from vidgen_assets.defs import build_definitions
from vidgen_assets.defs.assets import PROGRESS
from vidgen_assets.defs.jobs import RENDER_JOB
from vidgen_assets.defs.report import stage_timings
from vidgen_assets.music_file import LoadedMusic, store_music
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


def _failure(result: dg.ExecuteInProcessResult) -> tuple[str, str]:
    """What failed in a run: a few lines (each failed step and its cause), and the same with tracebacks."""
    short: list[str] = []
    full: list[str] = []
    for event in result.all_events:
        if event.event_type_value in ("STEP_FAILURE", "RUN_FAILURE") and event.message:
            top = getattr(event.event_specific_data, "error", None)
            error = top
            while error is not None and error.cause is not None and error.cls_name.startswith("Dagster"):
                error = error.cause  # the step's own exception, not Dagster's wrapper around it
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
) -> list[str]:
    """Run `job` for `partition_key`; raises `RenderFailed` when it fails. Returns what its failed
    non-blocking checks found (a kept take that fails its checks, a fault of the final video)."""
    result = defs.resolve_job_def(job).execute_in_process(
        partition_key=partition_key,
        instance=instance,
        raise_on_error=False,
        run_config=config or run_config(),
        tags=tags,
    )
    if not result.success:
        short, full = _failure(result)
        head = f"{where}, run {result.run_id} of {job}"
        raise RenderFailed(f"{head}:\n{_indent(short)}", f"{head}:\n{_indent(full)}")
    return failed_checks(result)


CHECK_FINDINGS = ("failing", "blocking_failures", "warnings")
"""The metadata entries in which a check names what it found failing (`defs.checks`)."""


def failed_checks(result: dg.ExecuteInProcessResult) -> list[str]:
    """One line per failed check of the run: `check chunks_pass_qc: failing chunk_000 (black)`."""
    lines = []
    for event in result.all_events:
        evaluation = event.event_specific_data
        if isinstance(evaluation, dg.AssetCheckEvaluation) and not evaluation.passed:
            found = [
                f"{key.replace('_', ' ')} {value.value}"
                for key in CHECK_FINDINGS
                if (value := evaluation.metadata.get(key)) is not None and value.value not in ("none", "")
            ]
            lines.append(f"check {evaluation.check_name}: {'; '.join(found) or 'failed'}")
    return list(dict.fromkeys(lines))


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


class _ProgressHandler(logging.Handler):
    """Shows the steps' progress lines (`defs.assets.PROGRESS`) as `[video] line`."""

    def __init__(self, progress: Progress) -> None:
        super().__init__(logging.INFO)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        self.progress(f"[{getattr(record, 'video_id', '?')}] {record.getMessage()}")


class Runner:
    """Renders registered specs with one set of settings on the instance at `home`: one run of
    `render_video` per video (its pairs are made in parallel inside that run's `chunk_pairs` step)."""

    def __init__(
        self,
        settings: Settings,
        home: Path,
        progress: Progress = print,
        verbose: bool = False,
    ) -> None:
        self.settings = settings
        self.verbose = verbose
        self.session = uuid.uuid4().hex
        """Tags every run of this runner (with the process that executes it): see `processes`."""
        self.home = home
        self.instance = instance_at(home)
        self.progress = progress
        self.defs = build_definitions(settings)
        self.store = settings.store()

    def register(
        self,
        spec: Spec,
        source_text: str,
        references: Sequence[LoadedReference] = (),
        workflows: Sequence[LoadedWorkflow] = (),
        track: LoadedMusic | None = None,
    ) -> None:
        """Save the spec as written, its reference images, its ComfyUI workflows and its music file, and add
        its `videos` partition."""
        store_references(self.store, spec.id, references)
        store_workflows(self.store, spec.id, workflows)
        store_music(self.store, spec.id, track)
        key = layout.video_key(spec.id, layout.SPEC_SOURCE)
        data = source_text.encode("utf-8")
        if not self.store.exists(key) or self.store.get_bytes(key) != data:
            self.store.put_bytes(key, data)
        if not self.instance.has_dynamic_partition("videos", spec.id):
            self.instance.add_dynamic_partitions("videos", [spec.id])

    def _run(self, job: str, partition_key: str, where: str) -> list[str]:
        tags = processes.run_tags(self.session)
        return _execute(self.defs, self.instance, job, partition_key, where, run_config(self.verbose), tags)

    def render(
        self,
        spec: Spec,
        source_text: str,
        references: Sequence[LoadedReference] = (),
        workflows: Sequence[LoadedWorkflow] = (),
        track: LoadedMusic | None = None,
    ) -> RenderReport:
        """Render one spec to its final video; raises `RenderFailed` naming the stage (and pair).

        `references`: the spec's reference images, read and checked (`references.read_local_references`);
        `workflows`: its ComfyUI workflows, likewise (`comfy_workflows.read_local_workflows`)."""
        handler = _ProgressHandler(self.progress)
        PROGRESS.addHandler(handler)
        PROGRESS.setLevel(logging.INFO)
        try:
            with video_lock(self.store, spec.id, "vidgen render"):
                return self._render(spec, source_text, references, workflows, track)
        except Locked as exc:
            raise RenderFailed(f"video {spec.id!r}: not rendered: {exc}") from None
        finally:
            PROGRESS.removeHandler(handler)

    def _render(
        self,
        spec: Spec,
        source_text: str,
        references: Sequence[LoadedReference],
        workflows: Sequence[LoadedWorkflow] = (),
        track: LoadedMusic | None = None,
    ) -> RenderReport:
        start = time.perf_counter()
        video_id = spec.id
        self.register(spec, source_text, references, workflows, track)
        self.progress(f"[{video_id}] render_video: one run, every stage whose inputs changed")
        found = self._run(RENDER_JOB, video_id, f"video {video_id!r}")
        plan = load_plan(self.store, video_id)
        if plan is None:
            raise RenderFailed(f"video {video_id!r}: render_video stored no plan")
        final = layout.video_key(video_id, "final.mp4")
        cost = self._final_cost(video_id)
        stages = stage_timings(self.instance, plan)
        return RenderReport(
            video_id, self.store.uri(final), time.perf_counter() - start, stages, (*plan.warnings, *found), cost
        )

    def _final_cost(self, video_id: str) -> float:
        key = layout.video_key(video_id, layout.MANIFESTS["final_video"])
        if not self.store.exists(key):
            raise RenderFailed(f"video {video_id!r}: the pipeline ended without a final video")
        return float(json.loads(self.store.get_bytes(key)).get("cost_usd", 0.0))
