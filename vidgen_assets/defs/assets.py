"""The assets: each gathers its inputs, calls a stage, and tells the UI what it made."""

import logging
import shutil
import textwrap
import time
from collections.abc import Callable, Iterator
from concurrent.futures import as_completed
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from vidgen_assets import stages, takes, voiceover
from vidgen_assets.available import check_available
from vidgen_assets.backends import BackendUnavailable, GenerationFailed, judge_for
from vidgen_assets.backends.estimate import estimate_plan, uses_llm_planner
from vidgen_assets.backends.selection import UnknownModel, spec_models
from vidgen_assets.comfy_workflows import LoadedWorkflow, read_workflows, store_workflows
from vidgen_assets.core import qc as core_qc
from vidgen_assets.core.cost import JUDGE_STAGE, Estimate, as_float, budget_refusal
from vidgen_assets.core.errors import exception_cause
from vidgen_assets.core.fingerprint import fingerprint
from vidgen_assets.core.plan import Plan, PlannedBeat, seconds
from vidgen_assets.core.planner import plan_spec
from vidgen_assets.core.spec import Spec, SpecError, read_spec_text
from vidgen_assets.core.text import one_line
from vidgen_assets.defs import checks
from vidgen_assets.defs.partitions import videos
from vidgen_assets.defs.resources import Backends, BackendsParam, VidgenParam, VidgenResource, load_stored
from vidgen_assets.media import preview, probe, timeline
from vidgen_assets.media import qc as media_qc
from vidgen_assets.music_file import MAX_BYTES as MAX_MUSIC_BYTES
from vidgen_assets.music_file import LoadedMusic, read_music, store_music, stored_music
from vidgen_assets.references import MAX_BYTES as MAX_REFERENCE_BYTES
from vidgen_assets.references import (
    LoadedReference,
    Reader,
    read_references,
    store_reader,
    store_references,
    stored_references,
    with_references,
)
from vidgen_assets.settings import ContextPool, pair_workers
from vidgen_assets.stages import run_pairs
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts, PairSet, load_artifacts, save_artifacts
from vidgen_assets.storage.lock import artifact_lock
from vidgen_assets.storage.spec_source import spec_store
from vidgen_assets.storage.store import ArtifactStore
from vidgen_assets.variant_page import store_set

GROUP = "vidgen"
IO = "artifacts"
PROGRESS = logging.getLogger("vidgen.progress")
"""A step's progress inside a run (each chunk pair as it ends), for a caller that shows it as it happens:
the CLI prints it (`Runner`); the run's own log has the same lines."""


def _md_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(one_line(str(c)).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _uri(store: ArtifactStore, video_id: str, relative: str) -> dg.MetadataValue:
    uri = store.uri(layout.video_key(video_id, relative))
    return dg.MetadataValue.path(uri) if not uri.startswith("s3://") else dg.MetadataValue.url(uri)


def _version(out: Artifacts) -> dg.DataVersion | None:
    return dg.DataVersion(out.fingerprint[:16]) if out.fingerprint else None


def _cache_marker(record: dict[str, Any]) -> str | None:
    """`hit` / `miss` / `partial` over the generation cache answers of an output's model calls."""
    calls = record.get("generations", record.get("chunks"))
    if not isinstance(calls, list):
        return None
    answers = [g.get("cache") for g in calls if isinstance(g, dict)]
    answers = [a for a in answers if a in ("hit", "miss")]
    if not answers:
        return None
    if record.get("cached"):
        return "hit"  # the stage's own output was reused: no model was called
    return answers[0] if len(set(answers)) == 1 else "partial"


def _common(out: Artifacts) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "cost_usd": dg.MetadataValue.float(float(out.record.get("cost_usd", 0.0))),
        "cached": dg.MetadataValue.bool(bool(out.record.get("cached", False))),
    }
    marker = _cache_marker(out.record)
    if marker is not None:
        meta["cache"] = dg.MetadataValue.text(marker)
    return meta


def plan_table(plan: Plan) -> str:
    rows = [
        [
            b.pair_key, b.name, seconds(b.start_frame, plan.fps), seconds(b.end_frame, plan.fps),
            b.frames, len(b.chunks), " + ".join(f"{c.kind[:3]} {c.frames}" for c in b.chunks),
            f"{b.transition} {seconds(b.transition_frames, plan.fps)}" if b.transition_frames else "cut",
            b.text or "",
        ]
        for b in plan.beats
    ]  # fmt: skip
    return _md_table(
        ["pair", "beat", "start", "end", "frames", "chunks", "chunk frames", "transition out", "text"], rows
    )


def references_table(plan: Plan) -> str:
    """The spec's reference images as stored, and the beats that show each."""
    if not plan.references:
        return "none"
    rows = [
        [r.name, r.file, f"{r.width}x{r.height}", "yes" if r.has_alpha else "no", r.sha256[:12], r.describe or "",
         ", ".join(b.pair_key for b in plan.beats if r.name in b.uses) or "none"]
        for r in plan.references
    ]  # fmt: skip
    return _md_table(["reference", "file", "size", "alpha", "sha256", "describe", "beats"], rows)


def stage_model_ids(found: Estimate) -> dict[str, str]:
    """Each stage's model(s): the storyboard has two when some beats use references."""
    out: dict[str, list[str]] = {}
    for line in found.lines:
        out.setdefault(line.stage, []).append(line.model)
    return {stage: ", ".join(dict.fromkeys(models)) for stage, models in out.items()}


def take_policy(vidgen: VidgenResource, plan: Plan, retakes_paid: Decimal = Decimal(0)) -> takes.TakePolicy:
    """How this render takes its clips (the spec's `qc`): the money `budget_usd` leaves for retakes is
    the budget less the estimate without them and less what retakes of this video were already paid
    (`retakes_paid`); a retake is set aside at the dearest clip of the estimate, and its judging when the
    judge is on."""
    found = estimate_plan(plan, vidgen.price_overrides())
    unit = max((line.unit_usd for line in found.lines if line.stage in ("chunks", "bridges")), default=Decimal(0))
    unit += max((line.unit_usd for line in found.lines if line.stage == JUDGE_STAGE), default=Decimal(0))
    return takes.policy_for(plan, found.total + retakes_paid, unit)


def _refuse_over_budget(budget_usd: float | None, found: Estimate) -> None:
    """Fail before anything is paid when the spec's budget is below the estimate."""
    refusal = budget_refusal(budget_usd, found)
    if refusal is not None:
        raise dg.Failure(refusal)


PAIR_RETRY = dg.RetryPolicy(max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
"""For transient failures of a step that calls a model (a permanent or paid failure is not retried)."""


SPEC_CONFIG_SOURCE = "run config ops.video_spec.config.spec_yaml"


class VideoSpecConfig(dg.Config):
    """`video_spec`'s run config: how a video is started from the UI's launchpad."""

    spec_yaml: str = Field(
        default="",
        description=(
            "A spec for this video (YAML or JSON text, the same fields as a spec file; `id` defaults to the "
            "partition). It is validated, stored as spec.source.yaml and planned. Leave empty to plan the "
            "spec already stored for the video."
        ),
    )
    variant_set: str = Field(
        default="",
        description=(
            "The set of videos this one belongs to (a spec file with variants: the spec and each variant), as "
            "the spec-file sensor gives it: stored as variant_set.json with the spec; the report step then "
            "writes the set's comparison page (videos/<set id>/variants.html)."
        ),
    )


def _config_references(vidgen: VidgenResource, spec: Spec, where: str) -> tuple[LoadedReference, ...]:
    """The reference images of a spec given in the run config: it has no file, so its `image:` paths are
    read from the spec folder (`VIDGEN_SPEC_DIR`, a local folder or an S3 prefix), checked as the
    spec-file sensor checks them."""
    if not spec.references:
        return ()
    return read_references(spec, where, *_spec_folder(vidgen))


def _spec_folder(vidgen: VidgenResource, max_bytes: int = MAX_REFERENCE_BYTES) -> tuple[Path | None, Reader]:
    """The spec folder (`VIDGEN_SPEC_DIR`: a local folder, or None for an S3 prefix) and a reader of its
    files (at most `max_bytes` each), for the files a spec given in the run config names."""
    settings = vidgen.settings
    location = settings.spec_dir
    source = spec_store(location, cache_dir=settings.work_root / "spec-cache", **vidgen.s3_args)
    return (None if location.startswith("s3://") else Path(location)), store_reader(source, max_bytes)


def _config_music(vidgen: VidgenResource, spec: Spec, where: str) -> LoadedMusic | None:
    """The music file of a spec given in the run config, read from the spec folder like its images."""
    if spec.music is None or spec.music.file is None:
        return None
    return read_music(spec, where, *_spec_folder(vidgen, MAX_MUSIC_BYTES))


def _config_workflows(vidgen: VidgenResource, spec: Spec, where: str) -> tuple[LoadedWorkflow, ...]:
    """The ComfyUI workflows of a spec given in the run config, read from the spec folder like its
    reference images."""
    if spec.backend != "comfyui":
        return ()
    return read_workflows(spec, where, *_spec_folder(vidgen))


@dg.asset(
    partitions_def=videos,
    io_manager_key=IO,
    group_name=GROUP,
    kinds={"json"},
    code_version=stages.RECIPES["video_spec"],
)
def video_spec(
    context: dg.AssetExecutionContext, config: VideoSpecConfig, vidgen: VidgenParam, backends: BackendsParam
) -> dg.Output[Plan]:
    """The plan: the user's spec validated, its beats fitted to the duration (at most one beat per 5 s,
    extras dropped and logged), every beat placed on the timeline in integer frames with its chunks,
    chunk pair and transition. Warnings about any change made to the spec are in the metadata.

    The spec is the video's stored `spec.source.yaml`, or the one given in the run config (`spec_yaml`,
    e.g. pasted into the launchpad): that one is stored as `spec.source.yaml` (with its reference images,
    read from the spec folder) once it is valid and within its budget, and nothing is written when it is
    not. The `render_video` job makes the whole video in one run from here."""
    video_id = context.partition_key
    store = vidgen.store()
    source_key = layout.video_key(video_id, layout.SPEC_SOURCE)
    given = config.spec_yaml if config.spec_yaml.strip() else None
    if given is None and not store.exists(source_key):
        raise dg.Failure(
            f"no spec registered for video {video_id!r} (expected {store.uri(source_key)}): give one in the "
            "run config (spec_yaml), or drop a spec file into the spec folder"
        )
    where = SPEC_CONFIG_SOURCE if given is not None else store.uri(source_key)
    try:
        text = given if given is not None else store.get_bytes(source_key).decode("utf-8")
        spec = read_spec_text(text, where, default_id=video_id)
        check_available(spec, where)
        if spec.id != video_id:
            raise dg.Failure(f"spec in {where} has id {spec.id!r}, not {video_id!r} (the partition)")
        loaded = _config_references(vidgen, spec, where) if given is not None else ()
        flows = _config_workflows(vidgen, spec, where) if given is not None else None
        track = _config_music(vidgen, spec, where) if given is not None else None
        backend = backends.get(spec.backend, spec_models(spec), spec, flows)
        backend.start_render()  # before any work: a pool of servers is asked whether it answers
        prices = vidgen.price_overrides()
        ask_llm = backend.ask_llm if uses_llm_planner(spec) else None
        music_track = track.planned if track is not None else stored_music(store, spec)
        if ask_llm is not None:
            # Before the first paid call (the LLM's): the library plan stands in for the beats to come.
            library = plan_spec(spec, backend.chunk_seconds, music_track=music_track)
            _refuse_over_budget(spec.budget_usd, estimate_plan(library, prices))
        plan = plan_spec(spec, backend.chunk_seconds, ask_llm=ask_llm, music_track=music_track)
        planned = tuple(r.planned for r in loaded) if given is not None else stored_references(store, spec)
        plan = with_references(plan, planned)
        found = estimate_plan(plan, prices)
        _refuse_over_budget(spec.budget_usd, found)
    except (SpecError, BackendUnavailable, UnknownModel, ValueError) as exc:
        raise dg.Failure(str(exc)) from None
    if given is not None:
        store_references(store, video_id, loaded)
        store_workflows(store, video_id, flows or ())
        store_music(store, video_id, track)
        store.put_bytes(source_key, given.encode("utf-8"))
        context.log.info(f"{video_id}: spec from the run config stored as {store.uri(source_key)}")
    if config.variant_set.strip():
        store_set(store, video_id, config.variant_set)
    for warning in plan.warnings:
        context.log.warning(f"{video_id}: {warning}")
    if plan.truncation is not None:
        t = plan.truncation
        store.append_log(layout.TRUNCATION_LOG, t.video_id, f"original={t.original}", f"kept={t.kept}")
    return dg.Output(
        plan,
        data_version=dg.DataVersion(fingerprint(plan.model_dump(mode="json"))[:16]),
        metadata={
            "beats": len(plan.beats),
            "chunks": len(plan.chunks),
            "pairs": dg.MetadataValue.text(", ".join(plan.pair_keys)),
            "duration_s": plan.duration_s,
            "total_frames": plan.total_frames,
            "size": f"{plan.width}x{plan.height}",
            "fps": plan.fps,
            "backend": spec.backend,
            "models": dg.MetadataValue.json(stage_model_ids(found)),
            "estimate_usd": dg.MetadataValue.float(as_float(found.total)),
            "estimate": dg.MetadataValue.md(f"```\n{found.table()}\n```"),
            "planner": plan.planner,
            "warnings": len(plan.warnings),
            "warning_text": dg.MetadataValue.md("\n".join(f"- {w}" for w in plan.warnings) or "none"),
            "plan": dg.MetadataValue.md(plan_table(plan)),
            "references": dg.MetadataValue.md(references_table(plan)),
            "timeline": dg.MetadataValue.md(
                preview.safe(lambda: timeline.timeline_markdown(plan), "the timeline picture", context.log)
            ),
            "path": _uri(store, video_id, layout.PLAN),
        },
    )


@dg.asset(
    partitions_def=videos,
    io_manager_key=IO,
    group_name=GROUP,
    kinds={"png"},
    retry_policy=PAIR_RETRY,
    pool="vidgen_image",
    code_version=stages.RECIPES["storyboard"],
    check_specs=[checks.spec_for(checks.STORYBOARD_CHECK)],
)
def storyboard(
    context: dg.AssetExecutionContext, vidgen: VidgenParam, backends: BackendsParam, video_spec: Plan
) -> Iterator[dg.Output[Artifacts] | dg.AssetCheckResult]:
    """One storyboard image per beat (beat_00.png ...): the reference image each beat's first chunk is
    generated from. Image count always equals beat count (checked)."""
    store = vidgen.store()
    backend = backends.get(video_spec.spec.backend, spec_models(video_spec.spec), video_spec.spec)
    try:
        out = stages.storyboard(video_spec, backend, store, vidgen.scratch())
    except GenerationFailed as exc:
        raise dg.Failure(str(exc), allow_retries=exc.retryable) from None
    images = [out.path(layout.storyboard_image(b.index)) for b in video_spec.beats]
    meta: dict[str, Any] = {
        **_common(out),
        "images": len(out.files),
        "beats": len(video_spec.beats),
        "folder": _uri(store, video_spec.video_id, "storyboard"),
    }
    try:  # a preview never fails the render
        sheet = stages.storyboard_contact_sheet(video_spec, images, store)
        store.put_bytes(layout.video_key(video_spec.video_id, layout.CONTACT_SHEET), sheet)
        meta["contact_sheet"] = _uri(store, video_spec.video_id, layout.CONTACT_SHEET)
        meta["preview"] = dg.MetadataValue.md(preview.png_markdown(sheet, "storyboard"))
    except Exception as exc:
        context.log.warning(f"{video_spec.video_id}: no storyboard contact sheet: {exc}")
        meta["preview"] = dg.MetadataValue.md(
            preview.safe(
                lambda: preview.sheet_markdown(images, "storyboard"), "the storyboard's contact sheet", context.log
            )
        )
    if video_spec.references:
        meta["references"] = dg.MetadataValue.md(references_table(video_spec))
    check = checks.storyboard_image_per_beat(out, video_spec)
    yield dg.Output(out, data_version=_version(out), metadata=meta)
    yield check  # measured on the files before they left the scratch directory


class GenerateConfig(dg.Config):
    """`generate`'s run config: re-make chosen pairs from the launchpad."""

    remake: list[str] = Field(
        default_factory=list,
        description=(
            "Pair keys (p000, p001, ...) to make again although a current output is stored. Only these are "
            "made; every other pair is reused as it is. A model call with the very same request is still "
            "answered by the generation cache (paid once)."
        ),
    )


CHUNK_PAIRS_DOC = """The video's chunk pairs, one per beat, made in parallel (up to `VIDGEN_MAX_PARALLEL_PAIRS` at once;
for the animatic, no more than the CPUs). Inside a pair the order is strict: its reference-image chunk
from the storyboard image, then continuous chunks, each from the exact last frame of the one before.
Each pair is stored as soon as it is made (`chunks/p003.json`) and reused while its inputs are the
same, so a failed pair fails the step after the others finished, and the retry makes only it. The
metadata's table lists every pair: made or reused, chunks, frames, seconds, cost."""
MUSIC_DOC = "The music bed: the video's exact length at the spec's bpm and mood (none when `music: false`)."
VOICE_DOC = """The voiceover: one clip per `say` line (`voice/line_02.wav` + json: text, voice, measured length,
speed-up, cost), spoken by the backend's speech engine and fitted into its beat. Each line is cached
on its own, so editing one line re-makes only that line."""
PAIR_HEADER = ["pair", "beat", "chunks", "frames", "seconds", "status", "cost", "error"]


@dg.multi_asset(
    name="generate",
    partitions_def=videos,
    group_name=GROUP,
    outs={
        "chunk_pairs": dg.AssetOut(
            io_manager_key=IO, kinds={"mp4"}, code_version=stages.RECIPES["chunk_pairs"], description=CHUNK_PAIRS_DOC,
            is_required=False,
        ),
        "music": dg.AssetOut(
            io_manager_key=IO, kinds={"wav"}, code_version=stages.RECIPES["music"], description=MUSIC_DOC,
            is_required=False,
        ),
        "voice": dg.AssetOut(
            io_manager_key=IO, kinds={"wav"}, code_version=stages.RECIPES["voice"], description=VOICE_DOC,
            is_required=False,
        ),
    },
    deps=["storyboard"],
    internal_asset_deps={
        "chunk_pairs": {dg.AssetKey("video_spec"), dg.AssetKey("storyboard")},
        "music": {dg.AssetKey("video_spec")},
        "voice": {dg.AssetKey("video_spec")},
    },
    can_subset=True,
    retry_policy=PAIR_RETRY,
    pool="vidgen_video",
    check_specs=[checks.spec_for(checks.CLIPS_CHECK)],
)  # fmt: skip
def generate(
    context: dg.AssetExecutionContext,
    config: GenerateConfig,
    vidgen: VidgenParam,
    backends: BackendsParam,
    video_spec: Plan,
) -> Iterator[dg.Output[Any] | dg.AssetCheckResult]:
    """Everything made from the plan (and the storyboard) by a model, at once, in one step: the chunk
    pairs (in parallel among themselves), the music bed and the voiceover, each an asset of its own,
    each stored and shown as soon as it is done. A failure of one lets the others finish and keep
    their outputs; the step then fails naming it, and its retry makes only what is missing. Any of
    the three can be materialized alone (the step is subsettable)."""
    selected = {key.path[-1] for key in context.selected_asset_keys}
    makers: dict[str, Callable[[], dg.Output[Any]]] = {
        "chunk_pairs": lambda: _chunk_pairs(context, config, vidgen, backends, video_spec),
        "music": lambda: _music(vidgen, backends, video_spec),
        "voice": lambda: _voice(vidgen, backends, video_spec),
    }
    failures: dict[str, BaseException] = {}
    with ContextPool(len(makers), thread_name_prefix="vidgen-generate") as pool:
        futures = {pool.submit(make): name for name, make in makers.items() if name in selected}
        for future in as_completed(futures):
            name = futures[future]
            try:
                output = future.result()
            except Exception as exc:
                failures[name] = exc
                continue
            yield output  # stored now, whatever the others do
            if name == "chunk_pairs" and CLIPS_CHECK_KEY in context.selected_asset_check_keys:
                yield _clips_check(checks.CLIPS_CHECK, vidgen.store(), video_spec, _pair_clips(output.value))
    if len(failures) == 1:
        raise next(iter(failures.values()))
    if failures:
        retry = all(isinstance(e, dg.Failure) and e.allow_retries for e in failures.values())
        lines = "\n".join(textwrap.indent(f"{n}: {_failure_text(e)}", "  ") for n, e in failures.items())
        raise dg.Failure(f"{len(failures)} of {len(futures)} outputs failed:\n{lines}", allow_retries=retry) from (
            next(iter(failures.values()))
        )


CLIPS_CHECK_KEY = dg.AssetCheckKey(dg.AssetKey("chunk_pairs"), checks.CLIPS_CHECK)


def _pair_clips(pairs: PairSet) -> list[dict[str, Any]]:
    return [dict(c) for pair in pairs.pairs.values() for c in pair.record.get("chunks", [])]


def _clips_check(name: str, store: ArtifactStore, plan: Plan, clips: list[dict[str, Any]]) -> dg.AssetCheckResult:
    """The clip check `name`, with each clip's takes side by side (a middle frame of each) as its strip."""

    def strip() -> str:
        rows = [takes.stored_takes(store, plan.video_id, str(c["clip"])) for c in clips]
        columns = max((len(r) for r in rows), default=1)
        frames, names = [], []
        for clip_takes in rows:
            for n in range(columns):
                if n < len(clip_takes):
                    take = clip_takes[n]
                    video = store.local_path(layout.video_key(plan.video_id, str(take["file"])))
                    frames.append(preview.frames_at(video, [probe.probe(video).frames // 2])[0])
                    names.append(f"{take['clip']} take {take['take']}")
                else:
                    frames.append(frames[-1] * 0)
        return preview.frames_markdown(frames, "each clip's takes, side by side: " + ", ".join(names), columns)

    drawn = preview.safe(strip, "the takes strip") if clips else "no clips"
    return checks.clips_pass_qc(name, clips, drawn)


def _failure_text(exc: BaseException) -> str:
    return (exc.description or "") if isinstance(exc, dg.Failure) else exception_cause(exc)


def _timed(start: float) -> dg.MetadataValue:
    """An output's own wall time inside the step (the three are made side by side)."""
    return dg.MetadataValue.float(round(time.perf_counter() - start, 3))


def _chunk_pairs(
    context: dg.AssetExecutionContext, config: GenerateConfig, vidgen: VidgenResource, backends: Backends, plan: Plan
) -> dg.Output[PairSet]:
    start = time.perf_counter()
    unknown = sorted(set(config.remake) - set(plan.pair_keys))
    if unknown:
        raise dg.Failure(
            f"generate.config.remake: video {plan.video_id!r} has no pair {', '.join(unknown)}; "
            f"its pairs: {', '.join(plan.pair_keys)}",
            allow_retries=False,
        )
    store = vidgen.store()
    storyboard = load_stored(store, plan.video_id, "storyboard")
    settings = vidgen.settings
    models = spec_models(plan.spec)
    policy = take_policy(vidgen, plan)  # one for every pair: they share what the budget leaves for retakes

    def one(beat: PlannedBeat) -> Artifacts:
        backend = backends.get(plan.spec.backend, models, plan.spec)  # one per pair: a backend is not shared by threads
        image = storyboard.path(layout.storyboard_image(beat.index))
        scratch = vidgen.scratch()
        try:
            out = stages.chunk_pair(
                plan, beat, image, backend, store, scratch, settings.stitch, beat.pair_key in config.remake,
                policy.with_judge(judge_for(backend)),
            )  # fmt: skip
            for warning in out.record.get("qc_warnings", []) if not out.record.get("cached") else []:
                context.log.warning(f"{plan.video_id}: {beat.pair_key}: {warning}")
            if not out.record.get("cached"):
                with artifact_lock(store, plan.video_id, out.manifest, f"run {context.run_id}"):
                    save_artifacts(store, out)
        finally:  # a reused pair (or a failed one) leaves no scratch folder behind
            shutil.rmtree(scratch, ignore_errors=True)
        loaded = load_artifacts(store, plan.video_id, out.manifest)
        assert loaded is not None
        loaded.record["cached"] = bool(out.record.get("cached"))
        return loaded

    pool = len(plan.spec.comfyui.servers) if plan.spec.backend == "comfyui" and plan.spec.comfyui else None
    workers = pair_workers(settings, plan.spec.backend, len(plan.beats), pool)

    def say(message: str) -> None:
        context.log.info(f"{plan.video_id}: {message}")
        PROGRESS.info(message, extra={"video_id": plan.video_id})

    say(f"chunk pairs: {len(plan.beats)} pair(s), {len(plan.chunks)} chunk(s), {workers} at once")
    made, failed = run_pairs(plan, one, workers, say)
    rows = []
    for beat in plan.beats:
        key = beat.pair_key
        if key in failed:
            cause = exception_cause(failed[key])
            rows.append([key, beat.name, len(beat.chunks), beat.clip_frames, "", "FAILED", "", cause])
            continue
        pair, took = made[key]
        rows.append([key, beat.name, len(beat.chunks), beat.clip_frames, f"{took:.1f}",
                     "reused" if pair.record.get("cached") else "made",
                     f"{pair.record.get('cost_usd', 0.0):g}", ""])  # fmt: skip
    if failed:
        retryable = all(isinstance(e, GenerationFailed) and e.retryable for e in failed.values())
        lines = "\n".join(textwrap.indent(f"chunk pair {k}: {exception_cause(e)}", "  ") for k, e in failed.items())
        raise dg.Failure(
            f"{len(failed)} of {len(plan.beats)} chunk pair(s) failed (the others are stored):\n{lines}",
            metadata={"pairs": dg.MetadataValue.md(_md_table(PAIR_HEADER, rows))},
            allow_retries=retryable,
        ) from next(iter(failed.values()))  # its traceback: the first failed pair's
    pairs = PairSet(plan.video_id, {k: made[k][0] for k in plan.pair_keys})
    first = plan.beats[0]
    markers = {m for m in (_cache_marker(p.record) for p in pairs.pairs.values()) if m is not None}
    cache = {"cache": dg.MetadataValue.text(markers.pop() if len(markers) == 1 else "partial")} if markers else {}
    return dg.Output(
        pairs,
        output_name="chunk_pairs",
        data_version=dg.DataVersion(pairs.fingerprint[:16]),
        metadata={
            "cost_usd": dg.MetadataValue.float(pairs.cost_usd),
            "cached": dg.MetadataValue.bool(all(p.record.get("cached") for p in pairs.pairs.values())),
            **cache,
            "made": dg.MetadataValue.text(
                ", ".join(k for k, p in pairs.pairs.items() if not p.record.get("cached")) or "none"
            ),
            "reused": dg.MetadataValue.text(
                ", ".join(k for k, p in pairs.pairs.items() if p.record.get("cached")) or "none"
            ),
            "pairs": dg.MetadataValue.md(_md_table(PAIR_HEADER, rows)),
            "pair_seconds": dg.MetadataValue.json({k: round(made[k][1], 3) for k in plan.pair_keys}),
            "wall_s": _timed(start),
            "chunks": len(plan.chunks),
            "first_chunk": _uri(store, plan.video_id, str(pairs.pairs[first.pair_key].record["chunks"][0]["file"])),
            "preview": dg.MetadataValue.md(
                preview.safe(
                    lambda: preview.sheet_markdown(
                        [takes.chunk_file(pairs.pairs[b.pair_key], b.chunks[-1].index, True) for b in plan.beats],
                        "each pair's last frame",
                    ),
                    "the chunk pairs' contact sheet",
                    context.log,
                )
            ),
        },
    )


def _music(vidgen: VidgenResource, backends: Backends, plan: Plan) -> dg.Output[Artifacts]:
    start = time.perf_counter()
    store = vidgen.store()
    backend = backends.get(plan.spec.backend, spec_models(plan.spec), plan.spec)
    try:
        out = stages.music(plan, backend, store, vidgen.scratch())
    except GenerationFailed as exc:
        raise dg.Failure(str(exc), allow_retries=exc.retryable) from None
    meta: dict[str, Any] = {**_common(out), "music": bool(out.files), "wall_s": _timed(start)}
    if out.files:
        meta |= {"seconds": out.record["seconds"], "path": _uri(store, plan.video_id, "music.wav")}
        if "file" in out.record:  # the user's own track
            meta |= {"file": str(out.record["file"]), "sha256": str(out.record["sha256"])}
        else:
            meta |= {"bpm": out.record["bpm"], "mood": out.record["mood"]}
    return dg.Output(out, output_name="music", data_version=_version(out), metadata=meta)


def _voice(vidgen: VidgenResource, backends: Backends, plan: Plan) -> dg.Output[Artifacts]:
    start = time.perf_counter()
    store = vidgen.store()
    backend = backends.get(plan.spec.backend, spec_models(plan.spec), plan.spec)
    try:
        out = voiceover.voice(plan, backend, store, vidgen.scratch())
    except stages.StageError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    except GenerationFailed as exc:
        raise dg.Failure(str(exc), allow_retries=exc.retryable) from None
    lines = out.record.get("lines", [])
    rows = [
        [s["key"], s["beat"], f"{s['start_s']:.2f}", f"{s['room_s']:.2f}", f"{s.get('measured_s', '')}",
         f"{s['spoken_s']:.2f}", s.get("tempo", ""), f"{s.get('cost_usd', 0.0):g}", " ".join(s["text"].split())[:60]]
        for s in lines
    ]  # fmt: skip
    meta: dict[str, Any] = {
        **_common(out),
        "wall_s": _timed(start),
        "lines": len(lines),
        "voice": str(out.record.get("voice")),
        "made": dg.MetadataValue.text(", ".join(out.record.get("made", [])) or "none"),
        "reused": dg.MetadataValue.text(", ".join(out.record.get("reused", [])) or "none"),
        "spoken_s": dg.MetadataValue.json({s["key"]: s["spoken_s"] for s in lines}),
        "table": dg.MetadataValue.md(
            _md_table(["line", "beat", "from s", "room s", "measured s", "spoken s", "speed-up", "cost", "text"], rows)
        ),
    }
    return dg.Output(out, output_name="voice", data_version=_version(out), metadata=meta)


@dg.asset(
    partitions_def=videos, io_manager_key=IO, group_name=GROUP, kinds={"m4a"}, code_version=stages.RECIPES["soundtrack"]
)
def soundtrack(
    context: dg.AssetExecutionContext, vidgen: VidgenParam, video_spec: Plan, music: Artifacts, voice: Artifacts
) -> dg.Output[Artifacts]:
    """The audio of a video that speaks: the music bed ducked under the voice (a sidechain compressor keyed
    by the voice track), each line at its start, a limiter so nothing clips, exactly the video's length.
    Empty when nothing is said (the music mix is then the audio)."""
    store = vidgen.store()
    out = voiceover.soundtrack(video_spec, music, voice, store, vidgen.scratch())
    meta: dict[str, Any] = {**_common(out), "soundtrack": bool(out.files)}
    if out.files:
        meta |= {"seconds": out.record["seconds"], "lines": out.record["lines"],
                 "path": _uri(store, video_spec.video_id, voiceover.SOUNDTRACK)}  # fmt: skip
    return dg.Output(out, data_version=_version(out), metadata=meta)


@dg.asset(
    partitions_def=videos,
    io_manager_key=IO,
    group_name=GROUP,
    kinds={"mp4"},
    retry_policy=PAIR_RETRY,
    pool="vidgen_video",
    code_version=stages.RECIPES["stitched_video"],
    check_specs=[checks.spec_for(checks.STITCHED_CHECK), checks.spec_for(checks.BRIDGES_CHECK)],
)
def stitched_video(
    context: dg.AssetExecutionContext,
    vidgen: VidgenParam,
    backends: BackendsParam,
    video_spec: Plan,
    chunk_pairs: PairSet,
    storyboard: Artifacts,
) -> Iterator[dg.Output[Artifacts] | dg.AssetCheckResult]:
    """Every chunk joined in order: seamlessly inside a pair (no duplicated frame at a seam), with the
    planned transition (cut, fade, dissolve, any xfade) at each beat boundary. A `bridge` is made first,
    each its own artifact (`bridges/b003.mp4`, from the outgoing pair's last frame to the incoming beat's
    storyboard image; reused while those do not change), and placed at the start of the beat it leads
    into. Its length is the video's duration exactly, whatever the transitions."""
    store = vidgen.store()
    mode = vidgen.settings.stitch
    try:
        made: dict[str, Artifacts] = {}
        if video_spec.bridges:
            backend = backends.get(video_spec.spec.backend, spec_models(video_spec.spec), video_spec.spec)
            spent = sum(
                (
                    Decimal(str(c.get("retake_cost_usd", 0)))
                    for p in chunk_pairs.pairs.values()
                    for c in p.record["chunks"]
                ),
                Decimal(0),
            )
            policy = take_policy(vidgen, video_spec, spent).with_judge(judge_for(backend))
            scratch = vidgen.scratch()
            try:
                made = stages.bridges(video_spec, chunk_pairs.pairs, storyboard, backend, store, scratch, mode, policy)
            finally:  # each bridge works in a folder of its own in here; made or reused, none is left behind
                shutil.rmtree(scratch, ignore_errors=True)
            for key, bridge in made.items():
                context.log.info(f"bridge {key}: {'reused' if bridge.record.get('cached') else 'made'}")
                for warning in bridge.record.get("qc_warnings", []) if not bridge.record.get("cached") else []:
                    context.log.warning(f"{video_spec.video_id}: {key}: {warning}")
        out = stages.stitched_video(video_spec, chunk_pairs.pairs, store, vidgen.scratch(), mode, made)
    except stages.StageError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    except GenerationFailed as exc:
        raise dg.Failure(str(exc), allow_retries=exc.retryable) from None
    check = checks.stitched_matches_plan(out, video_spec)
    bridged = _clips_check(checks.BRIDGES_CHECK, store, video_spec, [dict(b.record) for b in made.values()])
    yield dg.Output(
        out,
        data_version=_version(out),
        metadata={
            **_common(out),
            "chunks": out.record["chunks"],
            "pairs": len(video_spec.beats),
            "frames": out.record["frames"],
            "duration_s": out.record["duration_s"],
            "path": _uri(store, video_spec.video_id, "stitched.mp4"),
        },
    )
    yield check  # measured on the files before they left the scratch directory
    yield bridged


@dg.asset(
    partitions_def=videos,
    io_manager_key=IO,
    group_name=GROUP,
    kinds={"mp4"},
    code_version=stages.RECIPES["final_video"],
    check_specs=[
        checks.spec_for(c)
        for c in (checks.FINAL_CHECK, checks.LOUDNESS_CHECK, checks.SAFE_AREA_CHECK, checks.FINAL_QC_CHECK)
    ],
)
def final_video(
    context: dg.AssetExecutionContext,
    vidgen: VidgenParam,
    video_spec: Plan,
    stitched_video: Artifacts,
    music: Artifacts,
    storyboard: Artifacts,
    voice: Artifacts,
    soundtrack: Artifacts,
) -> Iterator[dg.Output[Artifacts] | dg.AssetCheckResult]:
    """The deliverable: on-screen text (each beat's `text`, the `cta` over the last beat) burned in,
    music mixed with fades (ducked under the voiceover when there is one), the mix at the spec's loudness
    (`audio`, default -14 LUFS, true peak -1 dBTP; measured here on the file), subtitles (a track, or
    burnt in; `final.srt` and `final.vtt` beside it), H.264 + AAC, yuv420p, +faststart. Its cost is the
    whole video's."""
    store = vidgen.store()
    out = stages.final_video(
        video_spec, stitched_video, music, storyboard, store, vidgen.scratch(), vidgen.settings.stitch,
        voice_out=voice, soundtrack_out=soundtrack,
    )  # fmt: skip
    r = out.record
    final = out.path("final.mp4")
    middles = [b.start_frame + b.frames // 2 for b in video_spec.beats]

    def posters() -> str:
        return preview.frames_markdown(preview.frames_at(final, middles), "the middle frame of each beat")

    check = checks.final_matches_spec(out, video_spec)
    on_target = checks.final_loudness_on_target(out, video_spec)
    in_safe_area = checks.final_text_in_safe_area(out, video_spec)
    measured = None  # the final video's picture and sound, frame by frame (`qc: false`: not measured)
    if video_spec.spec.qc is not None:
        allowances = core_qc.final_allowances(video_spec)
        measured = media_qc.check_final(final, video_spec.fps, video_spec.total_frames, allowances)
    picture_and_sound = checks.final_picture_and_sound_qc(measured)
    heard = r.get("loudness") or {}
    yield dg.Output(
        out,
        data_version=_version(out),
        metadata={
            **_common(out),
            "duration_s": r["duration_s"],
            "frames": r["frames"],
            "size": f"{r['width']}x{r['height']}",
            "fps": r["fps"],
            "audio": r["audio"],
            "megabytes": round(r["bytes"] / 1e6, 2),
            "cost_by_stage": dg.MetadataValue.json(r["cost_by_stage"]),
            "subtitles": str(r.get("subtitles", "off")),
            "cues": dg.MetadataValue.json(r.get("cues", [])),
            "loudness_lufs": heard.get("integrated_lufs"),
            "loudness_range_lu": heard.get("range_lu"),
            "true_peak_dbtp": heard.get("true_peak_dbtp"),
            "path": _uri(store, video_spec.video_id, "final.mp4"),
            "preview": dg.MetadataValue.md(preview.safe(posters, "the final video's poster frames", context.log)),
        },
    )
    yield check  # measured on the files before they left the scratch directory
    yield on_target
    yield in_safe_area
    yield picture_and_sound


ALL_ASSETS = [video_spec, storyboard, generate, stitched_video, soundtrack, final_video]
