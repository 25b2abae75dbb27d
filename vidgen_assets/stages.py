"""The pipeline's stages as plain functions: plan in, artifacts out.

Each stage computes a fingerprint of everything it depends on; when the store already holds an output
with that fingerprint, the stage returns it unchanged (`cached: true` in its record) instead of making
it again. That is how a re-run continues from what a failed run finished, and why nothing is paid twice.
The Dagster assets in `defs/` call these and attach metadata; the stages know nothing of Dagster.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vidgen_assets.backends.base import Backend
from vidgen_assets.core.fingerprint import digest_bytes, fingerprint
from vidgen_assets.core.generation import Frame, Generation, ImageRequest, MusicRequest, VideoRequest
from vidgen_assets.core.plan import Plan, PlannedBeat
from vidgen_assets.media import ops, probe
from vidgen_assets.media.commands import Join, Overlay
from vidgen_assets.media.text import render_text_overlay
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts, cached_artifacts
from vidgen_assets.storage.store import ArtifactStore

MUSIC_FADE_IN_S = 1.0
MUSIC_FADE_OUT_S = 2.0


class StageError(RuntimeError):
    """A stage cannot run with what it was given; the message says what to do."""


def _frame(plan: Plan) -> Frame:
    return Frame(width=plan.width, height=plan.height, fps=plan.fps)


def _generation_record(gen: Generation, **extra: Any) -> dict[str, Any]:
    return {
        "model": gen.model,
        "seed": gen.seed,
        "cost_usd": gen.cost_usd,
        "cache_hit": gen.cache_hit,
        **gen.extra,
        **extra,
    }


def _cost(records: list[dict[str, Any]]) -> float:
    return round(sum(float(r["cost_usd"]) for r in records), 6)


def _cached(store: ArtifactStore, video_id: str, manifest: str, fp: str) -> Artifacts | None:
    found = cached_artifacts(store, video_id, manifest, fp)
    if found is not None:
        found.record["cached"] = True
    return found


def storyboard(plan: Plan, backend: Backend, store: ArtifactStore, scratch: Path) -> Artifacts:
    """One storyboard image per beat, in beat order."""
    spec = plan.spec
    fp = fingerprint(
        "storyboard", backend.name, plan.width, plan.height, plan.fps, spec.seed, spec.style.model_dump(),
        [(b.name, b.prompt, b.camera, b.start_frame, b.frames) for b in plan.beats], len(plan.beats),
    )  # fmt: skip
    manifest = layout.MANIFESTS["storyboard"]
    cached = _cached(store, plan.video_id, manifest, fp)
    if cached is not None:
        return cached
    files: dict[str, Path] = {}
    generations = []
    for beat in plan.beats:
        relative = layout.storyboard_image(beat.index)
        out = scratch / Path(relative).name
        request = ImageRequest(
            video_id=plan.video_id, beat_index=beat.index, beat_count=len(plan.beats), beat_name=beat.name,
            prompt=beat.prompt, camera=beat.camera, start_frame=beat.start_frame,
            end_frame=beat.end_frame, frame=_frame(plan), palette=spec.style.palette,
            aesthetic=spec.style.aesthetic, seed=spec.seed + beat.index,
        )  # fmt: skip
        generations.append(_generation_record(backend.image(request, out), beat=beat.index))
        files[relative] = out
    record = {
        "fingerprint": fp,
        "backend": backend.name,
        "images": len(files),
        "beats": len(plan.beats),
        "cost_usd": _cost(generations),
        "generations": generations,
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, files, record, scratch)


def pair_fingerprint(plan: Plan, beat: PlannedBeat, backend: Backend, storyboard_image: Path) -> str:
    return fingerprint(
        "chunk_pair", backend.name, plan.width, plan.height, plan.fps, plan.spec.seed,
        beat.model_dump(), digest_bytes(storyboard_image.read_bytes()),
    )  # fmt: skip


def chunk_pair(
    plan: Plan,
    beat: PlannedBeat,
    storyboard_image: Path,
    backend: Backend,
    store: ArtifactStore,
    scratch: Path,
) -> Artifacts:
    """A beat's chunks in strict order: the reference-image chunk from the storyboard image, then each
    continuous chunk from the exact last frame of the chunk before it."""
    fp = pair_fingerprint(plan, beat, backend, storyboard_image)
    manifest = layout.pair_manifest(beat.pair_key)
    cached = _cached(store, plan.video_id, manifest, fp)
    if cached is not None:
        return cached
    files: dict[str, Path] = {}
    chunks = []
    source = storyboard_image
    for chunk in beat.chunks:
        video_rel = layout.chunk_video(chunk.index)
        last_rel = layout.chunk_last_frame(chunk.index)
        out = scratch / Path(video_rel).name
        request = VideoRequest(
            video_id=plan.video_id, chunk_index=chunk.index, beat_index=beat.index, kind=chunk.kind,
            prompt=beat.prompt, camera=beat.camera, frames=chunk.frames,
            motion_offset=chunk.motion_offset, frame=_frame(plan), seed=plan.spec.seed + chunk.index,
        )  # fmt: skip
        gen = backend.video(request, source, out)
        info = probe.probe(out)
        if (info.frames, info.width, info.height) != (
            chunk.frames,
            plan.width,
            plan.height,
        ) or info.fps != plan.fps:
            raise StageError(
                f"backend {backend.name!r} made chunk {chunk.index} as {info.width}x{info.height} "
                f"{float(info.fps):g} fps with {info.frames} frames; the plan needs {plan.width}x{plan.height} "
                f"{plan.fps} fps with {chunk.frames} frames"
            )
        last = scratch / Path(last_rel).name
        probe.last_frame(out, last)
        files[video_rel] = out
        files[last_rel] = last
        chunks.append(
            _generation_record(
                gen, index=chunk.index, kind=chunk.kind, frames=chunk.frames, source=source.name,
                source_sha256=digest_bytes(source.read_bytes()),
            )
        )  # fmt: skip
        source = last
    record = {
        "fingerprint": fp,
        "backend": backend.name,
        "pair": beat.pair_key,
        "beat": beat.index,
        "beat_name": beat.name,
        "chunks": chunks,
        "frames": sum(c.frames for c in beat.chunks),
        "cost_usd": _cost(chunks),
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, files, record, scratch)


def music(plan: Plan, backend: Backend, store: ArtifactStore, scratch: Path) -> Artifacts:
    """The music bed for the whole video, or an empty record when the spec has `music: false`."""
    spec = plan.spec
    manifest = layout.MANIFESTS["music"]
    if spec.music is None:
        fp = fingerprint("music", None)
        return Artifacts(plan.video_id, manifest, {}, {"fingerprint": fp, "music": None, "cost_usd": 0.0})
    fp = fingerprint(
        "music",
        backend.name,
        spec.music.model_dump(),
        spec.music_mood,
        plan.total_frames,
        plan.fps,
        spec.seed,
    )
    cached = _cached(store, plan.video_id, manifest, fp)
    if cached is not None:
        return cached
    relative = "music.wav"
    out = scratch / relative
    request = MusicRequest(
        video_id=plan.video_id,
        mood=spec.music_mood,
        bpm=spec.music.bpm,
        seconds=plan.total_frames / plan.fps,
        seed=spec.seed,
    )
    gen = backend.music(request, out)
    generation = _generation_record(gen)
    record = {
        "fingerprint": fp,
        "music": relative,
        "mood": spec.music_mood,
        "bpm": spec.music.bpm,
        "volume": spec.music.volume,
        "seconds": request.seconds,
        "cost_usd": generation["cost_usd"],
        "generations": [generation],
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, {relative: out}, record, scratch)


def check_pairs(plan: Plan, pairs: Mapping[str, Artifacts]) -> None:
    """Every pair of the plan is present and was made for this plan's chunk layout."""
    missing = [key for key in plan.pair_keys if key not in pairs]
    if missing:
        raise StageError(
            f"video {plan.video_id!r} is missing chunk pair(s) {', '.join(missing)}: materialize them first "
            f"(e.g. chunk_pair partition '{missing[0]}|{plan.video_id}')"
        )
    for beat in plan.beats:
        record = pairs[beat.pair_key].record
        made = [(c["index"], c["frames"]) for c in record.get("chunks", [])]
        wanted = [(c.index, c.frames) for c in beat.chunks]
        if made != wanted:
            raise StageError(
                f"chunk pair {beat.pair_key} of {plan.video_id!r} was made for another plan "
                f"(chunks {made}, the plan has {wanted}): re-materialize it"
            )


def stitched_video(plan: Plan, pairs: Mapping[str, Artifacts], store: ArtifactStore, scratch: Path) -> Artifacts:
    """All chunks joined: seamless inside a pair, the planned transition at each beat boundary."""
    check_pairs(plan, pairs)
    joins = [Join(transition=j.transition, frames=j.frames, offset_frame=j.offset_frame) for j in plan.joins]
    fp = fingerprint(
        "stitched",
        [pairs[k].fingerprint for k in plan.pair_keys],
        [j.model_dump() for j in plan.joins],
        plan.fps,
    )
    manifest = layout.MANIFESTS["stitched_video"]
    cached = _cached(store, plan.video_id, manifest, fp)
    if cached is not None:
        return cached
    clips = [[pairs[beat.pair_key].path(layout.chunk_video(c.index)) for c in beat.chunks] for beat in plan.beats]
    out = scratch / "stitched.mp4"
    ops.stitch(clips, joins, plan.fps, out)
    info = probe.probe(out)
    record = {
        "fingerprint": fp,
        "chunks": len(plan.chunks),
        "pairs": list(plan.pair_keys),
        "frames": info.frames,
        "duration_s": info.duration_s,
        "joins": [j.model_dump() for j in plan.joins],
        "cost_usd": _cost([pairs[k].record for k in plan.pair_keys]),
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, {"stitched.mp4": out}, record, scratch)


def final_video(
    plan: Plan,
    stitched: Artifacts,
    music_out: Artifacts,
    storyboard_out: Artifacts,
    store: ArtifactStore,
    scratch: Path,
) -> Artifacts:
    """The deliverable: text burned in, music mixed with fades, H.264 + AAC, yuv420p, +faststart."""
    spec = plan.spec
    overlays = plan.overlays
    music_rel = music_out.record.get("music")
    fp = fingerprint(
        "final", stitched.fingerprint, music_out.fingerprint, [o.model_dump() for o in overlays],
        spec.music.volume if spec.music else None, plan.width, plan.height, plan.fps, plan.total_frames,
    )  # fmt: skip
    manifest = layout.MANIFESTS["final_video"]
    cost = {
        "storyboard": float(storyboard_out.record.get("cost_usd", 0.0)),
        "chunks": float(stitched.record.get("cost_usd", 0.0)),
        "music": float(music_out.record.get("cost_usd", 0.0)),
    }
    cached = _cached(store, plan.video_id, manifest, fp)
    if cached is not None:
        return cached
    pngs = []
    for i, overlay in enumerate(overlays):
        png = scratch / f"text_{i:02d}.png"
        render_text_overlay(overlay.text, plan.width, plan.height, png, overlay.style)
        pngs.append(Overlay(png=png, start_frame=overlay.start_frame, end_frame=overlay.end_frame))
    out = scratch / "final.mp4"
    ops.finalise(
        stitched.path("stitched.mp4"), out, pngs,
        music_out.path(str(music_rel)) if music_rel else None,
        spec.music.volume if spec.music else 0.0, plan.total_frames, plan.fps,
        MUSIC_FADE_IN_S, min(MUSIC_FADE_OUT_S, plan.duration_s / 4),
    )  # fmt: skip
    info = probe.probe(out)
    record = {
        "fingerprint": fp,
        "frames": info.frames,
        "duration_s": info.duration_s,
        "width": info.width,
        "height": info.height,
        "fps": float(info.fps),
        "audio": info.has_audio,
        "bytes": out.stat().st_size,
        "overlays": len(overlays),
        "cost_usd": round(math.fsum(cost.values()), 6),
        "cost_by_stage": cost,
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, {"final.mp4": out}, record, scratch)
