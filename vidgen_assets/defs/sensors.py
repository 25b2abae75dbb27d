"""Sensors that make the pipeline run itself.

`spec_files` watches the spec folder (local or `s3://bucket/prefix/`): a new or changed spec file
registers its video (the `videos` partition, `spec.source.yaml` and its reference images, read from
beside it in the same folder or prefix) and requests `prepare_video` in the same tick. A changed
reference image is a change of the spec. A malformed spec (or a missing or bad reference image) is never
fatal: it gets a rejection record, `rejected/<file>.error.txt` in the artifact store, and is not looked
at again until the file (or its reference) changes.

`pair_driver` takes each registered video from there with the pipeline's one function
(`pipeline.next_steps` over `defs.state.video_facts`): once the run that drew its storyboard for the
current plan succeeded (the storyboard passed its blocking check), it registers the plan's pair keys and
requests the runs of the pairs whose fingerprint changed and, alongside them, `make_music` if the
music's did; once every pair and the music are current, `assemble_video` (stitching and the final video,
each gated by its blocking checks). A step is requested once per fingerprint, so a failed run blocks only
its own video until its inputs change. A plan made on its own (`video_spec` materialized from the UI with
a spec in its run config) first gets its storyboard from a `draw_storyboard` run, once no run of that
video is planning it any more.
"""

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from vidgen_assets.backends import BackendUnavailable
from vidgen_assets.backends.models import spec_models
from vidgen_assets.backends.voices import check_voice
from vidgen_assets.core.fingerprint import digest_bytes, fingerprint
from vidgen_assets.core.spec import Spec, SpecError, id_from_filename, read_spec_text
from vidgen_assets.defs.jobs import JOBS, REGISTRATION_JOBS, prepare_video
from vidgen_assets.defs.partitions import PAIRS, VIDEOS, pairs, videos
from vidgen_assets.defs.resources import Backends, BackendsParam, VidgenParam, VidgenResource
from vidgen_assets.defs.state import video_facts
from vidgen_assets.pipeline import STAGE_BY_NAME, Step, next_steps
from vidgen_assets.references import (
    LoadedReference,
    read_references,
    store_reader,
    store_references,
    stored_references,
)  # fmt: skip
from vidgen_assets.settings import Settings
from vidgen_assets.stages import backend_identity
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import load_plan
from vidgen_assets.storage.spec_source import SpecFileError, read_spec_file, spec_store
from vidgen_assets.storage.spec_source import spec_files as list_spec_files
from vidgen_assets.storage.store import ArtifactStore

REJECTED_PREFIX = "rejected/"


def rejection_key(filename: str) -> str:
    return f"{REJECTED_PREFIX}{filename}.error.txt"


def _reject(store: ArtifactStore, location: str, filename: str, reason: str) -> str:
    key = rejection_key(filename)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    text = f"{stamp}\nspec file: {location.rstrip('/')}/{filename}\nrejected: {reason}\n"
    store.put_bytes(key, text.encode("utf-8"))
    return key


def spec_files(context: dg.SensorEvaluationContext, vidgen: VidgenResource, backends: Backends) -> dg.SensorResult:
    """One evaluation of the `spec_files` sensor."""
    settings = vidgen.settings
    location = settings.spec_dir
    store = vidgen.store()
    source = spec_store(location, cache_dir=settings.work_root / "spec-cache", s3=vidgen.s3)
    cursor = json.loads(context.cursor) if context.cursor else {}
    seen: dict[str, str] = cursor.get("files", {})
    owners: dict[str, str] = cursor.get("ids", {})  # video id -> the file that registered it

    current: dict[str, str] = {}
    requests: list[dg.RunRequest] = []
    new_videos: list[str] = []
    rejected: list[str] = []
    folder = None if location.startswith("s3://") else Path(location)
    for name in list_spec_files(source):
        where = f"{location.rstrip('/')}/{name}"
        try:
            data = read_spec_file(source, name)
        except SpecFileError as exc:  # too big, a link out of the folder, removed meanwhile: once per change
            current[name] = digest_bytes(str(exc).encode("utf-8"))
            if seen.get(name) != current[name]:
                key = _reject(store, location, name, str(exc))
                context.log.warning(f"rejected {where}: {exc} (record: {store.uri(key)})")
            continue
        # A spec is read, with its reference images, on every tick: a changed photo beside an unchanged
        # spec is a change too (the digest covers the images' hashes, or why they could not be read).
        references: tuple[LoadedReference, ...] = ()
        problem: Exception | None = None
        try:
            spec = read_spec_text(data.decode("utf-8"), where, default_id=id_from_filename(Path(name)))
            check_voice(spec, where)
            backends.get(spec.backend, spec_models(spec))
            references = read_references(spec, where, folder, store_reader(source))
        except (SpecError, BackendUnavailable, UnicodeDecodeError) as exc:
            problem = exc
        digest = digest_bytes(data)
        if references or (problem is not None and "references." in str(problem)):
            digest = fingerprint(digest, [r.planned.sha256 for r in references], str(problem or ""))
        current[name] = digest
        if seen.get(name) == digest:
            continue
        if problem is not None:
            key = _reject(store, location, name, str(problem))
            context.log.warning(f"rejected {where}: {problem} (record: {store.uri(key)})")
            rejected.append(f"rejected {name}: {problem}")
            continue
        owner = owners.get(spec.id)
        if owner is not None and owner != name and owner in current | seen:
            reason = f"id {spec.id!r} is already used by {owner}; give this spec another id"
            key = _reject(store, location, name, reason)
            context.log.warning(f"rejected {where}: {reason} (record: {store.uri(key)})")
            rejected.append(f"rejected {name}: {reason}")
            continue
        owners[spec.id] = name
        if store.exists(rejection_key(name)):
            store.delete(rejection_key(name))  # the file is fine now: its old rejection no longer applies
        source_key = layout.video_key(spec.id, layout.SPEC_SOURCE)
        final_key = layout.video_key(spec.id, layout.MANIFESTS["final_video"])
        if (
            store.exists(source_key)
            and store.get_bytes(source_key) == data
            and store.exists(final_key)
            and _same_references(store, spec, references)
        ):
            context.log.info(f"{where}: video {spec.id!r} is already rendered from identical content")
            continue
        store_references(store, spec.id, references)
        store.put_bytes(source_key, data)
        if not context.instance.has_dynamic_partition(VIDEOS, spec.id) and spec.id not in new_videos:
            new_videos.append(spec.id)
        requests.append(
            dg.RunRequest(run_key=f"{spec.id}:{digest[:16]}", partition_key=spec.id, job_name=prepare_video.name)
        )
        context.log.info(f"{where}: registered video {spec.id!r}")

    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[videos.build_add_request(new_videos)] if new_videos else [],
        cursor=json.dumps({"files": current, "ids": owners}, sort_keys=True),
        skip_reason=("\n".join(rejected) or f"no new or changed spec file in {location}") if not requests else None,
    )


def _same_references(store: ArtifactStore, spec: Spec, references: tuple[LoadedReference, ...]) -> bool:
    """Whether the video's stored references are these very images."""
    try:
        stored = stored_references(store, spec)
    except ValueError:
        return False
    return [r.sha256 for r in stored] == [r.planned.sha256 for r in references]


def requests_for(steps: list[Step]) -> list[dg.RunRequest]:
    """The pipeline's next steps as run requests (a step is requested once: its run key names the
    video, the stage, the unit and the fingerprint it makes)."""
    return [dg.RunRequest(run_key=s.run_key, partition_key=s.partition_key, job_name=s.job) for s in steps]


def pair_driver(context: dg.SensorEvaluationContext, vidgen: VidgenResource, backends: Backends) -> dg.SensorResult:
    """One evaluation of the `pair_driver` sensor: each registered video's next steps."""
    instance = context.instance
    store = vidgen.store()
    known_pairs = set(instance.get_dynamic_partitions(PAIRS))
    new_pairs: set[str] = set()
    requests: list[dg.RunRequest] = []
    waiting: list[str] = []
    for video_id in instance.get_dynamic_partitions(VIDEOS):
        plan = load_plan(store, video_id)
        if plan is None:
            continue
        try:
            backend = backends.get(plan.spec.backend, spec_models(plan.spec))
        except BackendUnavailable as exc:
            waiting.append(f"{video_id}: {exc}")
            continue
        drawn_as = str(getattr(backend, "reference_identity", ""))
        facts = video_facts(instance, store, plan, backend_identity(backend), vidgen.settings.stitch, drawn_as)
        steps = next_steps(facts)
        if any(STAGE_BY_NAME[step.stage].per == "pair" for step in steps):
            new_pairs |= set(plan.pair_keys) - known_pairs
        requests += requests_for(steps)
    for reason in waiting:
        context.log.warning(f"cannot drive video {reason}")
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[pairs.build_add_request(sorted(new_pairs))] if new_pairs else [],
        skip_reason="; ".join(waiting) if waiting and not requests else None,
    )


def build_sensors(settings: Settings) -> list[dg.SensorDefinition]:
    """The sensors, evaluated every `settings.sensor_interval` seconds (`VIDGEN_SENSOR_INTERVAL`)."""

    @dg.sensor(
        name="spec_files",
        minimum_interval_seconds=settings.sensor_interval,
        default_status=dg.DefaultSensorStatus.RUNNING,
        jobs=[prepare_video],
        description="Registers each new or changed spec file in the spec folder and starts its video.",
    )
    def spec_files_sensor(
        context: dg.SensorEvaluationContext, vidgen: VidgenParam, backends: BackendsParam
    ) -> dg.SensorResult:
        return spec_files(context, vidgen, backends)

    @dg.sensor(
        name="pair_driver",
        minimum_interval_seconds=settings.sensor_interval,
        default_status=dg.DefaultSensorStatus.RUNNING,
        jobs=[job for name, job in JOBS.items() if name not in REGISTRATION_JOBS],
        description=(
            "Runs each prepared video's chunk pairs and music, then stitches and finishes it (drawing the "
            "storyboard first for a plan made on its own, e.g. video_spec materialized from the UI)."
        ),
    )
    def pair_driver_sensor(
        context: dg.SensorEvaluationContext, vidgen: VidgenParam, backends: BackendsParam
    ) -> dg.SensorResult:
        return pair_driver(context, vidgen, backends)

    return [spec_files_sensor, pair_driver_sensor]
