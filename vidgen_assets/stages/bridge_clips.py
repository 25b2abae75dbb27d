"""The bridge stage: a generated clip from one beat's last frame to the next beat's storyboard image."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from vidgen_assets import takes
from vidgen_assets.backends.base import Backend
from vidgen_assets.core.fingerprint import digest_bytes, fingerprint
from vidgen_assets.core.generation import Generation, VideoRequest
from vidgen_assets.core.plan import Plan, PlannedBridge
from vidgen_assets.core.takes import take_seed
from vidgen_assets.recipes import recipe
from vidgen_assets.settings import StitchMode
from vidgen_assets.stages.common import _cached, _checked_shape, _frame, _take_record, backend_identity
from vidgen_assets.stitching import StageError, beat_texts_key
from vidgen_assets.stitching import copy as stitch_copy
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts, load_artifacts, save_artifacts
from vidgen_assets.storage.store import ArtifactStore


def bridge_sources(
    plan: Plan, bridge: PlannedBridge, pairs: Mapping[str, Artifacts], storyboard_out: Artifacts
) -> tuple[Path, Path]:
    """A bridge's start frame (the exact last frame of the take the outgoing beat's last chunk uses) and
    end frame (the incoming beat's storyboard image)."""
    outgoing = plan.beats[bridge.from_beat]
    if outgoing.pair_key not in pairs:
        raise StageError(
            f"bridge {bridge.key} of {plan.video_id!r} needs chunk pair {outgoing.pair_key}'s last frame: "
            "materialize chunk_pairs first"
        )
    try:
        start = takes.chunk_file(pairs[outgoing.pair_key], outgoing.chunks[-1].index, last_frame=True)
    except KeyError:
        raise StageError(
            f"bridge {bridge.key} of {plan.video_id!r}: chunk pair {outgoing.pair_key} has no last frame: "
            "re-materialize chunk_pairs"
        ) from None
    return start, storyboard_out.path(layout.storyboard_image(bridge.to_beat))


def bridge_fingerprint(
    plan: Plan,
    bridge: PlannedBridge,
    identity: str,
    start_sha256: str,
    end_sha256: str,
    mode: StitchMode = "copy",
    policy: takes.TakePolicy = takes.NO_CHECKS,
) -> str:
    """Everything a bridge depends on: its two frames (by their bytes' sha256), its prompt and length, the
    model (`identity`), how it is checked and re-taken. Changing one beat changes only the bridges that
    touch it."""
    texts = beat_texts_key(plan, plan.beats[bridge.to_beat]) if mode == "copy" else None
    return fingerprint(
        recipe("bridge"), identity, plan.width, plan.height, plan.fps, plan.spec.seed, bridge.model_dump(),
        start_sha256, end_sha256, mode, texts, policy.key(),
    )  # fmt: skip


def bridge(
    plan: Plan,
    planned: PlannedBridge,
    start: Path,
    end: Path,
    backend: Backend,
    store: ArtifactStore,
    scratch: Path,
    mode: StitchMode = "copy",
    policy: takes.TakePolicy | None = None,
) -> Artifacts:
    """One bridge: a clip from `start` (the outgoing beat's last frame) to `end` (the incoming beat's
    storyboard image), exactly `planned.frames` long, checked (it must start on `start` and land on
    `end`) and re-taken as `policy` allows; with the copy path also its piece, text burnt in."""
    policy = policy if policy is not None else takes.policy_for(plan, Decimal(0), Decimal(0))
    identity = backend_identity(backend)
    start_sha256, end_sha256 = digest_bytes(start.read_bytes()), digest_bytes(end.read_bytes())
    fp = bridge_fingerprint(plan, planned, identity, start_sha256, end_sha256, mode, policy)
    manifest = layout.bridge_manifest(planned.key)
    cached = _cached(store, plan.video_id, manifest, fp, scratch)
    if cached is not None:
        return cached
    incoming = plan.beats[planned.to_beat]

    def request(attempt: int) -> VideoRequest:
        return VideoRequest(
            video_id=plan.video_id, chunk_index=incoming.chunks[0].index, beat_index=incoming.index, kind="bridge",
            prompt=planned.prompt, camera=incoming.camera, frames=planned.frames, motion_offset=0,
            frame=_frame(plan), seed=take_seed(plan.spec.seed + planned.from_beat, attempt), end_image=str(end),
        )  # fmt: skip

    def make(req: VideoRequest, out: Path) -> Generation:
        gen = backend.video(req, start, out)
        _checked_shape(backend, f"bridge {planned.key}", out, planned.frames, plan)
        return gen

    job = takes.ClipJob(
        clip=planned.key, kind="bridge", beat=planned.to_beat, identity=identity, source=start, request=request,
        make=make, files=lambda n: (layout.bridge_video(planned.key, n), None), fps=plan.fps,
        moves=True, expected_last=end, prompt=planned.prompt,
    )  # fmt: skip
    got = takes.take_clip(job, store, plan.video_id, scratch, policy)
    files = dict(got.files)
    if mode == "copy":
        files[layout.bridge_piece(planned.key)] = stitch_copy.bridge_piece(plan, planned, got.path, scratch)
    taken = _take_record(got)
    generation = {
        **(got.chosen.get("extra") or {}), "model": taken["model"], "seed": taken["seed"],
        "cost_usd": taken["cost_usd"], "cache_hit": taken["cache_hit"], "source_sha256": start_sha256,
        "end_sha256": end_sha256,
    }  # fmt: skip
    record = {
        **taken,
        "fingerprint": fp,
        "backend": backend.name,
        "bridge": planned.key,
        "from_beat": planned.from_beat,
        "to_beat": planned.to_beat,
        "start_frame": planned.start_frame,
        "frames": planned.frames,
        "stitch": mode,
        "generations": [generation],
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, files, record, scratch, frozenset(got.stored))


def bridges(
    plan: Plan,
    pairs: Mapping[str, Artifacts],
    storyboard_out: Artifacts,
    backend: Backend,
    store: ArtifactStore,
    scratch: Path,
    mode: StitchMode = "copy",
    policy: takes.TakePolicy | None = None,
) -> dict[str, Artifacts]:
    """Every bridge of the plan, each its own artifact (`bridges/b003.mp4` + json), saved as soon as it is
    made: a bridge whose two frames, prompt and model did not change is reused as it is, for free."""
    out: dict[str, Artifacts] = {}
    for planned in plan.bridges:
        start, end = bridge_sources(plan, planned, pairs, storyboard_out)
        made = bridge(plan, planned, start, end, backend, store, scratch / planned.key, mode, policy)
        if not made.record.get("cached"):
            save_artifacts(store, made)
            loaded = load_artifacts(store, plan.video_id, made.manifest)
            assert loaded is not None
            made = loaded
        out[planned.key] = made
    return out
