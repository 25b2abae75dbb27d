"""The copy stitch path: the per-frame work in the chunk pairs (which run in parallel), a serial tail
that renders only the transitions and joins everything by stream copy."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vidgen_assets.core.plan import Plan, PlannedBeat, PlannedBridge
from vidgen_assets.media import commands, ops
from vidgen_assets.settings import ContextPool
from vidgen_assets.stitching import StageError, beat_texts, incoming_frames, text_pngs
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts

TRANSITION_WORKERS = 2
"""ffmpeg processes rendering transition pieces at once."""
TRANSITIONS_PER_PROCESS = 4
"""Transition pieces one ffmpeg process renders (each output has its own encoder, and its memory)."""


def pair_pieces(
    plan: Plan, beat: PlannedBeat, clips: list[Path], scratch: Path, files: dict[str, Path]
) -> dict[str, Any]:
    """The copy path's outputs of one pair, from one decode of its chunks: the body (text burnt in)
    and the edges its transitions blend. Adds them to `files`; returns what the record says of them."""
    incoming = incoming_frames(plan, beat)
    own = beat.own_frames
    outputs: dict[str, commands.Stretch] = {}
    if own > incoming:
        outputs[layout.pair_piece(beat.pair_key)] = commands.Stretch(incoming, own, scratch / "piece.mp4")
    if incoming:
        outputs[layout.pair_edge(beat.pair_key, "head")] = commands.Stretch(0, incoming, scratch / "head.mp4")
    if beat.overlap_frames:
        end = own + beat.overlap_frames
        outputs[layout.pair_edge(beat.pair_key, "tail")] = commands.Stretch(own - 1, end, scratch / "tail.mp4")
    body = outputs.get(layout.pair_piece(beat.pair_key))
    edges = [stretch for key, stretch in outputs.items() if stretch is not body]
    pngs = text_pngs(plan, beat_texts(plan, beat), scratch, beat.pair_key) if body else []
    ops.pair_pieces(clips, pngs, plan.fps, body, edges)
    files.update({key: stretch.out for key, stretch in outputs.items()})
    return {key: [stretch.start_frame, stretch.end_frame] for key, stretch in outputs.items()}


def _edge(pairs: Mapping[str, Artifacts], beat: PlannedBeat, side: str) -> Path:
    key = layout.pair_edge(beat.pair_key, side)
    if key not in pairs[beat.pair_key].files:
        raise StageError(f"chunk pair {beat.pair_key} has no {side} edge for the copy path: re-materialize it")
    return pairs[beat.pair_key].path(key)


def bridge_piece(plan: Plan, planned: PlannedBridge, clip: Path, scratch: Path) -> Path:
    """A bridge's piece of the final video: the whole bridge, the incoming beat's text burnt in."""
    piece = scratch / "piece.mp4"
    pngs = text_pngs(plan, beat_texts(plan, plan.beats[planned.to_beat]), scratch, planned.key)
    ops.pair_pieces([clip], pngs, plan.fps, commands.Stretch(0, planned.frames, piece))
    return piece


def _pieces(plan: Plan, pairs: Mapping[str, Artifacts], scratch: Path, bridges: Mapping[str, Artifacts]) -> list[Path]:
    """The copy path's pieces in timeline order: each pair's piece, and between beats the transition,
    rendered here from the two pairs' edges (several per ffmpeg process, two processes at once), or the
    bridge's piece (made with the bridge)."""
    rendered: dict[int, commands.Transition] = {}
    for k, beat in enumerate(plan.beats[:-1]):
        if beat.overlap_frames:
            nxt = plan.beats[k + 1]
            rendered[k] = commands.Transition(
                a_clips=(_edge(pairs, beat, "tail"),), a_start=1, b_clips=(_edge(pairs, nxt, "head"),),
                frames=beat.transition_frames, transition=beat.transition,
                overlays=tuple(text_pngs(plan, beat_texts(plan, nxt), scratch, f"transition_{k:03d}")),
                out=scratch / f"transition_{k:03d}.mp4",
            )  # fmt: skip
    jobs = list(rendered.values())
    size = max(1, min(TRANSITIONS_PER_PROCESS, math.ceil(len(jobs) / TRANSITION_WORKERS)))
    batches = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    with ContextPool(max_workers=TRANSITION_WORKERS) as pool:
        for future in [pool.submit(ops.transition_pieces, batch, plan.fps) for batch in batches]:
            future.result()
    bridge_out = {b.from_beat: b.key for b in plan.bridges}
    pieces = []
    for k, beat in enumerate(plan.beats):
        body = pairs[beat.pair_key].files.get(layout.pair_piece(beat.pair_key))
        if body is None and beat.own_frames > incoming_frames(plan, beat):
            raise StageError(f"chunk pair {beat.pair_key} has no piece for the copy path: re-materialize it")
        if body is not None:
            pieces.append(body)
        if k in rendered:
            pieces.append(rendered[k].out)
        if k in bridge_out:
            key = bridge_out[k]
            piece = bridges[key].files.get(layout.bridge_piece(key))
            if piece is None:
                raise StageError(f"bridge {key} has no piece for the copy path: make it again")
            pieces.append(piece)
    return pieces


def stitch(
    plan: Plan, pairs: Mapping[str, Artifacts], scratch: Path, out: Path, bridges: Mapping[str, Artifacts]
) -> None:
    """The stitched video: the pairs' pieces, the transitions between them and the bridges' pieces,
    joined by stream copy."""
    ops.concat_copy(_pieces(plan, pairs, scratch, bridges), out)


def finish(plan: Plan, stitched: Artifacts, music_out: Artifacts, out: Path) -> None:
    """The final video: the stitched stream (its text already in) and the music's mix, by stream copy."""
    music_rel = music_out.record.get("music")
    mix = music_out.record.get("mix")
    if music_rel and not mix:
        raise StageError(f"the music of {plan.video_id!r} has no mix for the copy path: re-materialize it")
    ops.mux_copy(stitched.path("stitched.mp4"), music_out.path(str(mix)) if mix else None, out, plan.total_frames)
