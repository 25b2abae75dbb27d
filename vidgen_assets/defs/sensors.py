"""Sensors that make the pipeline run itself.

`spec_files` watches the spec folder (local or `s3://bucket/prefix/`): a new or changed spec file
registers its video (the `videos` partition) and requests its `render_video` run in the same tick. A changed
reference image is a change of the spec. A malformed spec (or a missing or bad reference image) is never
fatal: it gets a rejection record, `rejected/<file>.error.txt` in the artifact store, and is not looked
at again until the file (or its reference) changes.

Each registration is one `render_video` run request carrying the spec in its run config: the run
stores the spec and its reference images (the tick only reads and validates), then makes the whole video.
The cursor keeps each file's digest, so an unchanged file is never requested twice; no tick reads a
registered video's plan, artifacts or runs.

`finish_video` is a run-status sensor: when a run that planned a video (it materialized `video_spec`,
e.g. from the UI's "Materialize" with a spec pasted into the launchpad) ends without making its final
video, it requests that video's `render_video` run, which makes the rest (reusing what is current).
"""

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from vidgen_assets.backends import BackendUnavailable
from vidgen_assets.backends.selection import spec_models
from vidgen_assets.comfy_workflows import LoadedWorkflow, read_workflows, stored_workflows
from vidgen_assets.core.fingerprint import digest_bytes, fingerprint
from vidgen_assets.core.spec import Spec, SpecError, id_from_filename
from vidgen_assets.core.variant_rows import MAX_BYTES as MAX_ROWS_BYTES
from vidgen_assets.defs.jobs import render_video
from vidgen_assets.defs.partitions import VIDEOS, videos
from vidgen_assets.defs.resources import Backends, BackendsParam, VidgenParam, VidgenResource
from vidgen_assets.music_file import MAX_BYTES as MAX_MUSIC_BYTES
from vidgen_assets.music_file import LoadedMusic, read_music, stored_music
from vidgen_assets.references import (
    LoadedReference,
    read_references,
    store_reader,
    stored_references,
)  # fmt: skip
from vidgen_assets.settings import Settings
from vidgen_assets.storage import layout
from vidgen_assets.storage.spec_source import SpecFileError, read_spec_file, spec_store
from vidgen_assets.storage.spec_source import spec_files as list_spec_files
from vidgen_assets.storage.store import ArtifactStore
from vidgen_assets.variant_page import NO_SET, SET_FILE, members_of, set_text
from vidgen_assets.variant_sets import checked_members, read_set

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
    source = spec_store(location, cache_dir=settings.work_root / "spec-cache", **vidgen.s3_args)
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
        raw = digest_bytes(data)
        if seen.get(name) == raw:  # unchanged, and it names no reference image: nothing more to read
            current[name] = raw
            continue
        # A spec with reference images is read with them on every tick: a changed photo beside an
        # unchanged spec is a change too (the digest covers the images' hashes, or why they could not be
        # read).
        problem: Exception | None = None
        members: list[tuple[Spec, str]] = []  # the spec, then each of its variants (`core.variants`)
        beside_each: dict[str, tuple[tuple[LoadedReference, ...], tuple[LoadedWorkflow, ...]]] = {}
        tracks: dict[str, LoadedMusic | None] = {}
        rows_sha256 = None  # the variants' CSV file (`variants: {file: ...}`): a changed file is a changed set
        try:
            text = data.decode("utf-8")
            found, rows_sha256 = read_set(
                text, where, id_from_filename(Path(name)), folder, store_reader(source, MAX_ROWS_BYTES)
            )
            members = checked_members(found, text, where)
            for spec, _ in members:
                own_flows = read_workflows(spec, where, folder, store_reader(source))
                backends.get(spec.backend, spec_models(spec), spec, own_flows)
                beside_each[spec.id] = (read_references(spec, where, folder, store_reader(source)), own_flows)
                tracks[spec.id] = read_music(spec, where, folder, store_reader(source, MAX_MUSIC_BYTES), beats=False)
        except (SpecError, BackendUnavailable, UnicodeDecodeError) as exc:
            problem = exc
        references = tuple(r for refs, _ in beside_each.values() for r in refs)
        flows = tuple(f for _, fs in beside_each.values() for f in fs)
        digest = raw
        beside = [r.planned.sha256 for r in references] + [f.sha256 for f in flows]
        beside += [t.planned.sha256 for t in tracks.values() if t is not None]
        beside += [rows_sha256] if rows_sha256 is not None else []
        besides = ("references.", "comfyui.workflows.", "music.file", "variants.file")
        if beside or (problem is not None and any(field in str(problem) for field in besides)):
            # A changed image or workflow beside an unchanged spec is a change too.
            digest = fingerprint(digest, beside, str(problem or ""))
        current[name] = digest
        if seen.get(name) == digest:
            continue
        if problem is not None:
            key = _reject(store, location, name, str(problem))
            context.log.warning(f"rejected {where}: {problem} (record: {store.uri(key)})")
            rejected.append(f"rejected {name}: {problem}")
            continue
        taken = [(m.id, owners[m.id]) for m, _ in members if owners.get(m.id) not in (None, name)]
        taken = [(video, owner) for video, owner in taken if owner in current | seen]
        if taken:
            reason = f"id {taken[0][0]!r} is already used by {taken[0][1]}; give this spec another id"
            key = _reject(store, location, name, reason)
            context.log.warning(f"rejected {where}: {reason} (record: {store.uri(key)})")
            rejected.append(f"rejected {name}: {reason}")
            continue
        if store.exists(rejection_key(name)):
            store.delete(rejection_key(name))  # the file is fine now: its old rejection no longer applies
        # A spec with variants: every video of the set stores the set's membership (`variant_page`), and
        # its report step re-writes the set's comparison page.
        in_set = found.base.variants is not None
        set_json = set_text(found.base.id, members_of(found.base, [m for m, _ in members])) if in_set else ""
        for spec, spec_text in members:  # each variant is a video of its own: its partition, its run
            owners[spec.id] = name
            own_references, own_flows = beside_each[spec.id]
            source_key = layout.video_key(spec.id, layout.SPEC_SOURCE)
            final_key = layout.video_key(spec.id, layout.MANIFESTS["final_video"])
            if (
                store.exists(source_key)
                and store.get_bytes(source_key) == spec_text.encode("utf-8")
                and store.exists(final_key)
                and _same_references(store, spec, own_references)
                and _same_workflows(store, spec, own_flows)
                and _same_music(store, spec, tracks.get(spec.id))
                and (spec.id != found.base.id or _same_set(store, spec.id, set_json))
            ):
                context.log.info(f"{where}: video {spec.id!r} is already rendered from identical content")
                continue
            if not context.instance.has_dynamic_partition(VIDEOS, spec.id) and spec.id not in new_videos:
                new_videos.append(spec.id)
            requests.append(
                dg.RunRequest(
                    run_key=f"{spec.id}:{digest[:16]}",
                    partition_key=spec.id,
                    job_name=render_video.name,
                    run_config={"ops": {"video_spec": {"config": _spec_config(store, spec.id, spec_text, set_json)}}},
                    tags={"vidgen/spec_file": name},
                )
            )
            context.log.info(f"{where}: registered video {spec.id!r}")

    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[videos.build_add_request(new_videos)] if new_videos else [],
        cursor=json.dumps({"files": current, "ids": owners}, sort_keys=True),
        skip_reason=("\n".join(rejected) or f"no new or changed spec file in {location}") if not requests else None,
    )


def _spec_config(store: ArtifactStore, video_id: str, spec_text: str, set_json: str) -> dict[str, str]:
    """`video_spec`'s config for a video of a spec file: its spec, and its set when it is in one (or the
    word that it is in none any more, when a set was stored for it)."""
    config = {"spec_yaml": spec_text}
    if set_json:
        config["variant_set"] = set_json
    elif store.exists(layout.video_key(video_id, SET_FILE)):
        config["variant_set"] = NO_SET
    return config


def _same_set(store: ArtifactStore, video_id: str, set_json: str) -> bool:
    """Whether the set video's stored membership is this one (or it has none and is in no set): a set
    whose rows changed runs its own video again, which re-writes the comparison page."""
    key = layout.video_key(video_id, SET_FILE)
    if not set_json:
        return not store.exists(key)
    return store.exists(key) and store.get_bytes(key) == set_json.encode("utf-8")


def _same_references(store: ArtifactStore, spec: Spec, references: tuple[LoadedReference, ...]) -> bool:
    """Whether the video's stored references are these very images."""
    try:
        stored = stored_references(store, spec)
    except ValueError:
        return False
    return [r.sha256 for r in stored] == [r.planned.sha256 for r in references]


def _same_workflows(store: ArtifactStore, spec: Spec, flows: tuple[LoadedWorkflow, ...]) -> bool:
    """Whether the video's stored ComfyUI workflows are these very files."""
    try:
        stored = stored_workflows(store, spec)
    except (ValueError, SpecError):
        return False
    return [f.sha256 for f in stored] == [f.sha256 for f in flows]


def _same_music(store: ArtifactStore, spec: Spec, track: LoadedMusic | None) -> bool:
    """Whether the video's stored music file is this very track (or neither has one)."""
    try:
        stored = stored_music(store, spec)
    except ValueError:
        return False
    return (stored.sha256 if stored else None) == (track.planned.sha256 if track else None)


FINAL = dg.AssetKey("final_video")
PLAN = dg.AssetKey("video_spec")


def finish_request(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dg.RunRequest | None:
    """The `render_video` run that finishes a video planned by `run` without its final video: a run of
    another job (the UI's Materialize) that materialized `video_spec` and not `final_video`."""
    partition = run.tags.get("dagster/partition")
    if run.job_name == render_video.name or not partition:
        return None
    records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    made = {r.event_log_entry.dagster_event.asset_key for r in records if r.event_log_entry.dagster_event}
    if PLAN not in made or FINAL in made:
        return None
    return dg.RunRequest(
        run_key=f"finish:{run.run_id}",
        partition_key=partition,
        job_name=render_video.name,
        tags={"vidgen/finishes": run.run_id},
    )


def build_sensors(settings: Settings) -> list[dg.SensorDefinition]:
    """The sensors, evaluated every `settings.sensor_interval` seconds (`VIDGEN_SENSOR_INTERVAL`)."""

    @dg.sensor(
        name="spec_files",
        minimum_interval_seconds=settings.sensor_interval,
        default_status=dg.DefaultSensorStatus.RUNNING,
        jobs=[render_video],
        description="Registers each new or changed spec file in the spec folder and starts its video.",
    )
    def spec_files_sensor(
        context: dg.SensorEvaluationContext, vidgen: VidgenParam, backends: BackendsParam
    ) -> dg.SensorResult:
        return spec_files(context, vidgen, backends)

    @dg.run_status_sensor(
        name="finish_video",
        run_status=dg.DagsterRunStatus.SUCCESS,
        minimum_interval_seconds=settings.sensor_interval,
        default_status=dg.DefaultSensorStatus.RUNNING,
        request_job=render_video,
        description=(
            "When a run planned a video (materialized video_spec) without making its final video, as the UI's "
            "Materialize of video_spec does, starts that video's render_video run to make the rest."
        ),
    )
    def finish_video(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
        request = finish_request(context.instance, context.dagster_run)
        if request is None:
            return dg.SkipReason(f"run {context.dagster_run.run_id} needs no follow-up")
        return request

    return [spec_files_sensor, finish_video]
