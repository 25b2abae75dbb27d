"""Sensors that make the pipeline run itself.

`spec_files` watches the spec folder (local or `s3://bucket/prefix/`): a new or changed spec file
registers its video (the `videos` partition, `spec.source.yaml` and its reference images, read from
beside it in the same folder or prefix) and requests `prepare_video` in the same tick. A changed
reference image is a change of the spec. A malformed spec (or a missing or bad reference image) is never
fatal: it gets a rejection record, `rejected/<file>.error.txt` in the artifact store, and is not looked
at again until the file (or its reference) changes.

`pair_driver` takes each registered video from there: once the run that drew its storyboard for the
current plan succeeded (the storyboard passed its blocking check), it registers the plan's pair keys
and requests exactly that video's chunk-pair runs and, alongside them, its `make_music` run; once every
pair and the music of the current plan are materialized, it requests `assemble_video` (stitching and
the final video, each gated by its blocking checks). Re-materializing one pair by hand makes it
assemble again. A failed pair blocks only its own video. A plan made on its own (`video_spec`
materialized from the UI with a spec in its run config) first gets its storyboard from a
`draw_storyboard` run, once no run of that video is planning it any more.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from vidgen_assets.backends import BackendUnavailable
from vidgen_assets.backends.models import spec_models
from vidgen_assets.core.fingerprint import digest_bytes, fingerprint
from vidgen_assets.core.plan import Plan
from vidgen_assets.core.spec import Spec, SpecError, id_from_filename, read_spec_text
from vidgen_assets.defs.jobs import assemble_video, chunk_pairs, draw_storyboard, make_music, prepare_video
from vidgen_assets.defs.partitions import PAIRS, VIDEOS, pair_partition_key, pairs, videos
from vidgen_assets.defs.resources import Backends, BackendsParam, VidgenParam, VidgenResource
from vidgen_assets.references import (
    LoadedReference,
    read_references,
    store_reader,
    store_references,
    stored_references,
)  # fmt: skip
from vidgen_assets.settings import Settings
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
            continue
        owner = owners.get(spec.id)
        if owner is not None and owner != name and owner in current | seen:
            reason = f"id {spec.id!r} is already used by {owner}; give this spec another id"
            key = _reject(store, location, name, reason)
            context.log.warning(f"rejected {where}: {reason} (record: {store.uri(key)})")
            continue
        owners[spec.id] = name
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
    )


def _same_references(store: ArtifactStore, spec: Spec, references: tuple[LoadedReference, ...]) -> bool:
    """Whether the video's stored references are these very images."""
    try:
        stored = stored_references(store, spec)
    except ValueError:
        return False
    return [r.sha256 for r in stored] == [r.planned.sha256 for r in references]


@dataclass(frozen=True)
class VideoState:
    """What the instance knows of one video, as storage ids of its latest materializations."""

    video_id: str
    prepared: bool
    plan_id: int | None
    pair_ids: dict[str, int]
    final_id: int | None
    music_id: int | None = None
    storyboard_id: int | None = None
    busy: bool = False
    """A run of this video that may still plan it or draw its storyboard is in progress."""

    @property
    def needs_storyboard(self) -> bool:
        """The plan is newer than the storyboard (or there is none): it was made on its own."""
        return self.plan_id is not None and (self.storyboard_id is None or self.storyboard_id < self.plan_id)


IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING,
]  # fmt: skip


def _latest_ids(instance: dg.DagsterInstance, asset: str, partitions: list[str]) -> dict[str, int]:
    if not partitions:
        return {}
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=partitions), limit=10_000
    ).records
    latest: dict[str, int] = {}
    for record in records:
        key = record.partition_key
        if key is not None and record.storage_id > latest.get(key, -1):
            latest[key] = record.storage_id
    return latest


def video_state(instance: dg.DagsterInstance, plan: Plan) -> VideoState:
    """Prepared: the storyboard is newer than the plan and the run that drew it succeeded (whichever job:
    `prepare_video`, `draw_storyboard`, or the UI's), and no run of the video is planning it again."""
    video_id = plan.video_id
    running = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": video_id}, statuses=IN_PROGRESS))
    busy = any(run.job_name not in (make_music.name, assemble_video.name) for run in running)
    plan_id = _latest_ids(instance, "video_spec", [video_id]).get(video_id)
    drawn = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("storyboard"), asset_partitions=[video_id]), limit=1
    ).records
    storyboard_id = drawn[0].storage_id if drawn else None
    drawn_by = instance.get_run_by_id(drawn[0].run_id) if drawn else None
    prepared = (
        not busy
        and plan_id is not None
        and storyboard_id is not None
        and storyboard_id > plan_id
        and drawn_by is not None
        and drawn_by.status == dg.DagsterRunStatus.SUCCESS
    )
    pair_keys = {pair_partition_key(k, video_id): k for k in plan.pair_keys}
    pair_ids = {pair_keys[k]: v for k, v in _latest_ids(instance, "chunk_pair", list(pair_keys)).items()}
    final_id = _latest_ids(instance, "final_video", [video_id]).get(video_id)
    music_id = _latest_ids(instance, "music", [video_id]).get(video_id)
    return VideoState(video_id, prepared, plan_id, pair_ids, final_id, music_id, storyboard_id, busy)


def next_requests(plan: Plan, state: VideoState) -> list[dg.RunRequest]:
    """A storyboard run for a plan made on its own; then pair runs for every pair not materialized since
    the current plan, and the music run alongside them if the music is older than the plan; once all are
    current, one assemble run."""
    if state.plan_id is None:
        return []
    if not state.prepared:
        if state.needs_storyboard and not state.busy:
            return [
                dg.RunRequest(
                    run_key=f"{plan.video_id}|storyboard|plan-{state.plan_id}",
                    partition_key=plan.video_id,
                    job_name=draw_storyboard.name,
                )
            ]
        return []
    stale = [k for k in plan.pair_keys if state.pair_ids.get(k, -1) < state.plan_id]
    requests = [
        dg.RunRequest(
            run_key=f"{plan.video_id}|{key}|plan-{state.plan_id}",
            partition_key=pair_partition_key(key, plan.video_id),
            job_name=chunk_pairs.name,
        )
        for key in stale
    ]
    music_id = -1 if state.music_id is None else state.music_id
    if music_id < state.plan_id:
        requests.append(
            dg.RunRequest(
                run_key=f"{plan.video_id}|music|plan-{state.plan_id}",
                partition_key=plan.video_id,
                job_name=make_music.name,
            )
        )
    if requests:
        return requests
    newest = max(*(state.pair_ids[k] for k in plan.pair_keys), music_id)
    if state.final_id is not None and state.final_id > newest:
        return []
    return [
        dg.RunRequest(
            run_key=f"{plan.video_id}|assemble|inputs-{newest}",
            partition_key=plan.video_id,
            job_name=assemble_video.name,
        )
    ]


def pair_driver(context: dg.SensorEvaluationContext, vidgen: VidgenResource) -> dg.SensorResult:
    """One evaluation of the `pair_driver` sensor."""
    instance = context.instance
    store = vidgen.store()
    known_pairs = set(instance.get_dynamic_partitions(PAIRS))
    new_pairs: set[str] = set()
    requests: list[dg.RunRequest] = []
    for video_id in instance.get_dynamic_partitions(VIDEOS):
        plan = load_plan(store, video_id)
        if plan is None:
            continue
        state = video_state(instance, plan)
        wanted = next_requests(plan, state)
        if any(request.job_name == chunk_pairs.name for request in wanted):
            new_pairs |= set(plan.pair_keys) - known_pairs
        requests += wanted
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[pairs.build_add_request(sorted(new_pairs))] if new_pairs else [],
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
        jobs=[draw_storyboard, chunk_pairs, make_music, assemble_video],
        description=(
            "Runs each prepared video's chunk pairs and music, then stitches and finishes it (drawing the "
            "storyboard first for a plan made on its own, e.g. video_spec materialized from the UI)."
        ),
    )
    def pair_driver_sensor(context: dg.SensorEvaluationContext, vidgen: VidgenParam) -> dg.SensorResult:
        return pair_driver(context, vidgen)

    return [spec_files_sensor, pair_driver_sensor]
