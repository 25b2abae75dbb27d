"""What the instance and the store say about one video, as the plain facts `pipeline.next_steps` reads.

Both drivers gather facts here: the CLI runner after each batch of runs, the `pair_driver` sensor on
each tick. A stage's stored fingerprint is the one in its output's manifest in the artifact store (the
store, not the instance, says what exists: an output deleted from the store is made again); its wanted
fingerprints come from the plan, the backend and the storyboard images' digests
(`pipeline.wanted_fingerprints`). The registration stage counts only once the run that drew the
storyboard succeeded and no run is planning the video again.
"""

from __future__ import annotations

import dagster as dg

from vidgen_assets.core.fingerprint import digest_bytes
from vidgen_assets.core.plan import Plan
from vidgen_assets.pipeline import STAGES, Inputs, Output, Stage, VideoFacts, combined, wanted_fingerprints
from vidgen_assets.settings import StitchMode
from vidgen_assets.stages import image_digests
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import read_manifest
from vidgen_assets.storage.store import ArtifactStore


def stored_fingerprint(store: ArtifactStore, video_id: str, asset: str, unit: str) -> str | None:
    """The fingerprint of the output stored for one unit of a stage (its manifest's), or None."""
    pair = unit if asset == "chunk_pair" else None
    record = read_manifest(store, video_id, layout.manifest(asset, pair))
    value = record.get("fingerprint") if record is not None else None
    return str(value) if value is not None else None


def stored_stage_fingerprint(store: ArtifactStore, video_id: str, stage: Stage, unit: str) -> str | None:
    """What is stored for one unit of a stage: its output's fingerprint (several outputs' combined)."""
    return combined([stored_fingerprint(store, video_id, asset, unit) for asset in stage.stored])


IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING,
]  # fmt: skip
ALONGSIDE = frozenset(stage.job for stage in STAGES if not stage.started_by_registration)
"""Jobs that neither plan a video nor draw its storyboard."""


def busy(instance: dg.DagsterInstance, video_id: str) -> bool:
    """Whether a run that may still plan the video or draw its storyboard is in progress."""
    running = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": video_id}, statuses=IN_PROGRESS))
    return any(run.job_name not in ALONGSIDE for run in running)


def drawn(instance: dg.DagsterInstance, video_id: str, asset: str) -> bool:
    """Whether the run that made the asset's latest materialization succeeded (whichever job:
    `prepare_video`, `draw_storyboard`, the UI's): its blocking checks passed."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[video_id]), limit=1
    ).records
    run = instance.get_run_by_id(records[0].run_id) if records else None
    return run is not None and run.status == dg.DagsterRunStatus.SUCCESS


def storyboard_digests(store: ArtifactStore, plan: Plan) -> dict[int, str]:
    """The sha256 of each stored storyboard image by beat index (read from the storyboard's record, or
    from the images themselves for a record made before records listed them)."""
    record = read_manifest(store, plan.video_id, layout.MANIFESTS["storyboard"])
    if record is None:
        return {}
    found = image_digests(record)
    if found:
        return found
    out = {}
    for beat in plan.beats:
        key = layout.video_key(plan.video_id, layout.storyboard_image(beat.index))
        if store.exists(key):
            out[beat.index] = digest_bytes(store.get_bytes(key))
    return out


def last_frame_digests(store: ArtifactStore, plan: Plan) -> dict[int, str]:
    """The sha256 of the stored last frame of each beat a bridge starts from, by beat index (missing
    while its pair is not made)."""
    out = {}
    for bridge in plan.bridges:
        beat = plan.beats[bridge.from_beat]
        key = layout.video_key(plan.video_id, layout.chunk_last_frame(beat.chunks[-1].index))
        if store.exists(key):
            out[beat.index] = digest_bytes(store.get_bytes(key))
    return out


def video_facts(
    instance: dg.DagsterInstance,
    store: ArtifactStore,
    plan: Plan,
    backend: str,
    stitch: StitchMode,
    reference_backend: str = "",
) -> VideoFacts:
    """What is materialized and current for `plan`'s video (`backend`: the backend's identity;
    `reference_backend`: its `reference_identity`)."""
    video_id = plan.video_id
    images = storyboard_digests(store, plan)
    last_frames = last_frame_digests(store, plan)
    wanted = wanted_fingerprints(
        Inputs(plan, backend, stitch, images, reference_backend=reference_backend, last_frames=last_frames)
    )
    outputs: dict[str, dict[str, Output]] = {}
    running = busy(instance, video_id)
    for stage in STAGES:
        units = wanted.get(stage.name)
        if units is None:
            continue
        ready = not stage.started_by_registration or (not running and drawn(instance, video_id, stage.asset))
        outputs[stage.name] = {
            unit: Output(fp, stored_stage_fingerprint(store, video_id, stage, unit) if ready else None)
            for unit, fp in units.items()
        }
    return VideoFacts(video_id, outputs, busy=running)
