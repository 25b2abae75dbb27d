"""The pipeline's stages as plain functions: plan in, artifacts out.

Each stage computes a fingerprint of everything it depends on; when the store already holds an output
with that fingerprint, the stage returns it unchanged (`cached: true` in its record) instead of making
it again. That is how a re-run continues from what a failed run finished, and why nothing is paid twice.
The Dagster assets in `defs/` call these and attach metadata; the stages know nothing of Dagster.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image

from vidgen_assets.backends.base import Backend
from vidgen_assets.core.fingerprint import digest_bytes, fingerprint
from vidgen_assets.core.generation import (
    Frame,
    Generation,
    ImageRequest,
    MusicRequest,
    ReferenceImage,
    VideoRequest,
)  # fmt: skip
from vidgen_assets.core.plan import Plan, PlannedBeat
from vidgen_assets.media import commands, ops, preview, probe
from vidgen_assets.media.commands import Join, Overlay
from vidgen_assets.media.text import render_text_overlay
from vidgen_assets.references import beat_reference_paths
from vidgen_assets.settings import StitchMode
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts, cached_artifacts
from vidgen_assets.storage.store import ArtifactStore

MUSIC_FADE_IN_S = 1.0
TRANSITION_WORKERS = 2
"""ffmpeg processes rendering transition pieces at once."""
TRANSITIONS_PER_PROCESS = 4
"""Transition pieces one ffmpeg process renders (each output has its own encoder, and its memory)."""
MUSIC_FADE_OUT_S = 2.0


class StageError(RuntimeError):
    """A stage cannot run with what it was given; the message says what to do."""


def backend_identity(backend: Backend) -> str:
    """What outputs are fingerprinted by: the backend and, for a model backend, its models."""
    return str(getattr(backend, "identity", backend.name))


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
        "storyboard", backend_identity(backend), plan.width, plan.height, plan.fps, spec.seed, spec.style.model_dump(),
        [(b.name, b.prompt, b.camera, b.start_frame, b.frames) for b in plan.beats], len(plan.beats),
        *([[reference_identity(plan, b) for b in plan.beats], getattr(backend, "reference_identity", "")]
          if plan.references else []),
    )  # fmt: skip
    manifest = layout.MANIFESTS["storyboard"]
    cached = _cached(store, plan.video_id, manifest, fp)
    if cached is not None:
        return cached
    files: dict[str, Path] = {}

    def make(beat: PlannedBeat) -> dict[str, Any]:
        relative = layout.storyboard_image(beat.index)
        out = scratch / Path(relative).name
        request = ImageRequest(
            video_id=plan.video_id, beat_index=beat.index, beat_count=len(plan.beats), beat_name=beat.name,
            prompt=beat.prompt, camera=beat.camera, start_frame=beat.start_frame,
            end_frame=beat.end_frame, frame=_frame(plan), palette=spec.style.palette,
            aesthetic=spec.style.aesthetic, seed=spec.seed + beat.index,
            references=beat_references(plan, beat, store),
        )  # fmt: skip
        record = _generation_record(backend.image(request, out), beat=beat.index)
        if request.references:
            record["references"] = {r.name: r.sha256 for r in request.references}
        files[relative] = out
        return record

    # A model backend may make a few images at once (`max_concurrency`); order is kept either way.
    workers = max(1, min(int(getattr(backend, "max_concurrency", 1)), len(plan.beats)))
    if workers == 1:
        generations = [make(beat) for beat in plan.beats]
    else:
        with ThreadPoolExecutor(workers) as pool:
            generations = list(pool.map(make, plan.beats))
    files = dict(sorted(files.items()))
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


def reference_identity(plan: Plan, beat: PlannedBeat) -> list[tuple[str, str, str | None]]:
    """What a beat's outputs depend on of its references: name, sha256 and words (not where they are)."""
    return [(r.name, r.sha256, r.describe) for name in beat.uses if (r := plan.reference(name)) is not None]


def beat_references(plan: Plan, beat: PlannedBeat, store: ArtifactStore) -> tuple[ReferenceImage, ...]:
    """The reference images a beat shows, as local files (an S3 store's are downloaded once)."""
    return tuple(
        ReferenceImage(name=ref.name, path=str(path), sha256=ref.sha256, describe=ref.describe)
        for ref, path in beat_reference_paths(plan, beat.uses if plan.references else (), store)
    )


def storyboard_contact_sheet(plan: Plan, images: Sequence[Path], store: ArtifactStore) -> bytes:
    """The storyboard contact sheet as PNG bytes: the references, then each beat captioned with its uses."""
    beats = []
    for beat, path in zip(plan.beats, images, strict=True):
        with Image.open(path) as image:
            caption = f"{beat.index + 1:02d} {beat.name}" + (f" · uses {', '.join(beat.uses)}" if beat.uses else "")
            beats.append((image.copy(), caption))
    refs = []
    for ref, path in beat_reference_paths(plan, [r.name for r in plan.references], store):
        with Image.open(path) as image:
            used = [f"{b.index + 1:02d}" for b in plan.beats if ref.name in b.uses]
            refs.append((image.copy(), f"{ref.name} (beats {', '.join(used) or 'none'})"))
    buffer = io.BytesIO()
    preview.storyboard_sheet(beats, refs).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def incoming_frames(plan: Plan, beat: PlannedBeat) -> int:
    """The frames at the start of `beat` that the transition from the beat before covers."""
    return plan.beats[beat.index - 1].transition_frames if beat.index > 0 else 0


def beat_texts(plan: Plan, beat: PlannedBeat) -> list[tuple[str, str]]:
    """The on-screen texts over `beat` (its caption, and the CTA over the last beat) as (text, style)."""
    return [(o.text, o.style) for o in plan.overlays if o.start_frame == beat.start_frame]


def _text_pngs(plan: Plan, texts: Sequence[tuple[str, str]], scratch: Path, name: str) -> list[Path]:
    pngs = []
    for i, (text, style) in enumerate(texts):
        png = scratch / f"{name}_text_{i}.png"
        render_text_overlay(text, plan.width, plan.height, png, "cta" if style == "cta" else "caption")
        pngs.append(png)
    return pngs


def pair_fingerprint(
    plan: Plan, beat: PlannedBeat, backend: Backend, storyboard_image: Path, mode: StitchMode = "copy"
) -> str:
    piece = (mode, "edges", incoming_frames(plan, beat), beat_texts(plan, beat)) if mode == "copy" else None
    return fingerprint(
        "chunk_pair", backend_identity(backend), plan.width, plan.height, plan.fps, plan.spec.seed,
        beat.model_dump(), digest_bytes(storyboard_image.read_bytes()), piece,
        *([reference_identity(plan, beat)] if beat.uses and plan.references else []),
    )  # fmt: skip


def chunk_pair(
    plan: Plan,
    beat: PlannedBeat,
    storyboard_image: Path,
    backend: Backend,
    store: ArtifactStore,
    scratch: Path,
    mode: StitchMode = "copy",
) -> Artifacts:
    """A beat's chunks in strict order: the reference-image chunk from the storyboard image, then each
    continuous chunk from the exact last frame of the chunk before it.

    With the `copy` stitch mode the pair also makes its piece of the final video, here where pairs run in
    parallel: the beat's frames outside any transition, its text burnt in, encoded once at final quality."""
    fp = pair_fingerprint(plan, beat, backend, storyboard_image, mode)
    manifest = layout.pair_manifest(beat.pair_key)
    cached = _cached(store, plan.video_id, manifest, fp)
    if cached is not None:
        return cached
    files: dict[str, Path] = {}
    chunks = []
    source = storyboard_image
    references = beat_references(plan, beat, store)
    for chunk in beat.chunks:
        video_rel = layout.chunk_video(chunk.index)
        last_rel = layout.chunk_last_frame(chunk.index)
        out = scratch / Path(video_rel).name
        request = VideoRequest(
            video_id=plan.video_id, chunk_index=chunk.index, beat_index=beat.index, kind=chunk.kind,
            prompt=beat.prompt, camera=beat.camera, frames=chunk.frames,
            motion_offset=chunk.motion_offset, frame=_frame(plan), seed=plan.spec.seed + chunk.index,
            clip_frames=beat.clip_frames, storyboard_image=storyboard_image, reference_images=references,
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
    pieces: dict[str, Any] | None = None
    if mode == "copy":
        pieces = _pair_pieces(plan, beat, [files[layout.chunk_video(c.index)] for c in beat.chunks], scratch, files)
    record = {
        "fingerprint": fp,
        "backend": backend.name,
        "stitch": mode,
        "piece": pieces,
        "pair": beat.pair_key,
        "beat": beat.index,
        "beat_name": beat.name,
        "chunks": chunks,
        "frames": sum(c.frames for c in beat.chunks),
        "cost_usd": _cost(chunks),
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, files, record, scratch)


def _pair_pieces(
    plan: Plan, beat: PlannedBeat, clips: list[Path], scratch: Path, files: dict[str, Path]
) -> dict[str, Any]:
    """The copy path's outputs of one pair, from one decode of its chunks: the body (text burnt in)
    and the edges its transitions blend. Adds them to `files`; returns what the record says of them."""
    incoming = incoming_frames(plan, beat)
    outputs: dict[str, commands.Stretch] = {}
    if beat.frames > incoming:
        outputs[layout.pair_piece(beat.pair_key)] = commands.Stretch(incoming, beat.frames, scratch / "piece.mp4")
    if incoming:
        outputs[layout.pair_edge(beat.pair_key, "head")] = commands.Stretch(0, incoming, scratch / "head.mp4")
    if beat.transition_frames:
        end = beat.frames + beat.transition_frames
        outputs[layout.pair_edge(beat.pair_key, "tail")] = commands.Stretch(beat.frames - 1, end, scratch / "tail.mp4")
    body = outputs.get(layout.pair_piece(beat.pair_key))
    edges = [stretch for key, stretch in outputs.items() if stretch is not body]
    pngs = _text_pngs(plan, beat_texts(plan, beat), scratch, beat.pair_key) if body else []
    ops.pair_pieces(clips, pngs, plan.fps, body, edges)
    files.update({key: stretch.out for key, stretch in outputs.items()})
    return {key: [stretch.start_frame, stretch.end_frame] for key, stretch in outputs.items()}


def music_fades(plan: Plan) -> tuple[float, float]:
    """The music's fade-in and fade-out in seconds (the fade-out at most a quarter of the video)."""
    return MUSIC_FADE_IN_S, min(MUSIC_FADE_OUT_S, plan.duration_s / 4)


def music(plan: Plan, backend: Backend, store: ArtifactStore, scratch: Path) -> Artifacts:
    """The music bed for the whole video, or an empty record when the spec has `music: false`."""
    spec = plan.spec
    manifest = layout.MANIFESTS["music"]
    if spec.music is None:
        fp = fingerprint("music", None)
        return Artifacts(plan.video_id, manifest, {}, {"fingerprint": fp, "music": None, "cost_usd": 0.0})
    fp = fingerprint(
        "music", backend_identity(backend), spec.music.model_dump(), spec.music_mood, plan.total_frames, plan.fps,
        spec.seed, music_fades(plan), "mix",
    )  # fmt: skip
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
    # The bed as the final video carries it (volume, fades, exact length, AAC), made here, alongside the
    # chunk pairs, so that the copy path's final step encodes nothing.
    mix = "music.m4a"
    ops.music_mix(out, scratch / mix, spec.music.volume, plan.total_frames, plan.fps, *music_fades(plan))
    record = {
        "fingerprint": fp,
        "music": relative,
        "mix": mix,
        "mood": spec.music_mood,
        "bpm": spec.music.bpm,
        "volume": spec.music.volume,
        "seconds": request.seconds,
        "cost_usd": generation["cost_usd"],
        "generations": [generation],
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, {relative: out, mix: scratch / mix}, record, scratch)


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


def stitched_video(
    plan: Plan, pairs: Mapping[str, Artifacts], store: ArtifactStore, scratch: Path, mode: StitchMode = "copy"
) -> Artifacts:
    """All chunks joined: seamless inside a pair, the planned transition at each beat boundary.

    `reencode`: one xfade graph over every chunk, re-encoded. `copy`: only the transitions are rendered
    (a few frames each, from the neighbouring chunks' edges, the incoming beat's text on top); they are
    joined with the pairs' pieces by the concat demuxer with stream copy. The text is then already in."""
    check_pairs(plan, pairs)
    joins = [Join(transition=j.transition, frames=j.frames, offset_frame=j.offset_frame) for j in plan.joins]
    fp = fingerprint(
        "stitched",
        [pairs[k].fingerprint for k in plan.pair_keys],
        [j.model_dump() for j in plan.joins],
        plan.fps,
        mode,
        [beat_texts(plan, b) for b in plan.beats] if mode == "copy" else None,
    )
    manifest = layout.MANIFESTS["stitched_video"]
    cached = _cached(store, plan.video_id, manifest, fp)
    if cached is not None:
        return cached
    out = scratch / "stitched.mp4"
    if mode == "copy":
        ops.concat_copy(_pieces(plan, pairs, scratch), out)
    else:
        clips = [[pairs[b.pair_key].path(layout.chunk_video(c.index)) for c in b.chunks] for b in plan.beats]
        ops.stitch(clips, joins, plan.fps, out)
    info = probe.probe(out)
    record = {
        "fingerprint": fp,
        "stitch": mode,
        "chunks": len(plan.chunks),
        "pairs": list(plan.pair_keys),
        "frames": info.frames,
        "duration_s": info.duration_s,
        "joins": [j.model_dump() for j in plan.joins],
        "cost_usd": _cost([pairs[k].record for k in plan.pair_keys]),
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, {"stitched.mp4": out}, record, scratch)


def _edge(pairs: Mapping[str, Artifacts], beat: PlannedBeat, side: str) -> Path:
    key = layout.pair_edge(beat.pair_key, side)
    if key not in pairs[beat.pair_key].files:
        raise StageError(f"chunk pair {beat.pair_key} has no {side} edge for the copy path: re-materialize it")
    return pairs[beat.pair_key].path(key)


def _pieces(plan: Plan, pairs: Mapping[str, Artifacts], scratch: Path) -> list[Path]:
    """The copy path's pieces in timeline order: each pair's piece, and between beats the transition,
    rendered here from the two pairs' edges (several per ffmpeg process, two processes at once)."""
    rendered: dict[int, commands.Transition] = {}
    for k, beat in enumerate(plan.beats[:-1]):
        if beat.transition_frames:
            nxt = plan.beats[k + 1]
            rendered[k] = commands.Transition(
                a_clips=(_edge(pairs, beat, "tail"),), a_start=1, b_clips=(_edge(pairs, nxt, "head"),),
                frames=beat.transition_frames, transition=beat.transition,
                overlays=tuple(_text_pngs(plan, beat_texts(plan, nxt), scratch, f"transition_{k:03d}")),
                out=scratch / f"transition_{k:03d}.mp4",
            )  # fmt: skip
    jobs = list(rendered.values())
    size = max(1, min(TRANSITIONS_PER_PROCESS, math.ceil(len(jobs) / TRANSITION_WORKERS)))
    batches = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    with ThreadPoolExecutor(max_workers=TRANSITION_WORKERS) as pool:
        for future in [pool.submit(ops.transition_pieces, batch, plan.fps) for batch in batches]:
            future.result()
    pieces = []
    for k, beat in enumerate(plan.beats):
        body = pairs[beat.pair_key].files.get(layout.pair_piece(beat.pair_key))
        if body is None and beat.frames > incoming_frames(plan, beat):
            raise StageError(f"chunk pair {beat.pair_key} has no piece for the copy path: re-materialize it")
        if body is not None:
            pieces.append(body)
        if k in rendered:
            pieces.append(rendered[k].out)
    return pieces


def final_video(
    plan: Plan,
    stitched: Artifacts,
    music_out: Artifacts,
    storyboard_out: Artifacts,
    store: ArtifactStore,
    scratch: Path,
    mode: StitchMode = "copy",
) -> Artifacts:
    """The deliverable: text burned in, music mixed with fades, H.264 + AAC, yuv420p, +faststart.

    With the `copy` stitch mode the text is already in the stitched video: its stream is copied as it is
    and only the music is encoded."""
    spec = plan.spec
    overlays = plan.overlays
    music_rel = music_out.record.get("music")
    fp = fingerprint(
        "final", stitched.fingerprint, music_out.fingerprint, [o.model_dump() for o in overlays],
        spec.music.volume if spec.music else None, plan.width, plan.height, plan.fps, plan.total_frames, mode,
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
    out = scratch / "final.mp4"
    if mode == "copy":
        mix = music_out.record.get("mix")
        if music_rel and not mix:
            raise StageError(f"the music of {plan.video_id!r} has no mix for the copy path: re-materialize it")
        ops.mux_copy(stitched.path("stitched.mp4"), music_out.path(str(mix)) if mix else None, out, plan.total_frames)
    else:
        pngs = []
        for i, overlay in enumerate(overlays):
            png = scratch / f"text_{i:02d}.png"
            render_text_overlay(overlay.text, plan.width, plan.height, png, overlay.style)
            pngs.append(Overlay(png=png, start_frame=overlay.start_frame, end_frame=overlay.end_frame))
        music_path = music_out.path(str(music_rel)) if music_rel else None
        ops.finalise(
            stitched.path("stitched.mp4"), out, pngs, music_path, spec.music.volume if spec.music else 0.0,
            plan.total_frames, plan.fps, *music_fades(plan),
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
        "stitch": mode,
        "cost_usd": round(math.fsum(cost.values()), 6),
        "cost_by_stage": cost,
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, {"final.mp4": out}, record, scratch)
