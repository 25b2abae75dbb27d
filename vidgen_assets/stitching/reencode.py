"""The reencode stitch path: one xfade graph over every chunk, re-encoded, then a second encode that
burns the text in and mixes the music. The reference the copy path is tested against."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from vidgen_assets import takes
from vidgen_assets.core.plan import Join, Plan
from vidgen_assets.core.spec import BRIDGE
from vidgen_assets.media import ops
from vidgen_assets.stitching import text_overlays
from vidgen_assets.storage.artifacts import Artifacts


def stitch(plan: Plan, pairs: Mapping[str, Artifacts], out: Path, bridges: Mapping[str, Artifacts]) -> None:
    """Every chunk in order, each beat boundary its planned transition (a bridge: the bridge's clip at the
    start of the beat it leads into, a cut on each side), re-encoded."""
    joins = [
        Join(transition="cut", frames=0, offset_frame=j.offset_frame)
        if j.transition == BRIDGE
        else Join(transition=j.transition, frames=j.frames, offset_frame=j.offset_frame)
        for j in plan.joins
    ]
    bridge_into = {b.to_beat: b.key for b in plan.bridges}
    clips = [
        ([takes.bridge_file(bridges[bridge_into[b.index]])] if b.index in bridge_into else [])
        + [takes.chunk_file(pairs[b.pair_key], c.index) for c in b.chunks]
        for b in plan.beats
    ]  # fmt: skip
    ops.stitch(clips, joins, plan.fps, out)


def finish(plan: Plan, stitched: Artifacts, music_out: Artifacts, scratch: Path, out: Path) -> None:
    """The final video: the text burnt in, re-encoded, with the music's finished mix (its volume, fades
    and loudness already in) copied."""
    pngs = text_overlays(plan, scratch)
    mix = music_out.record.get("mix")
    ops.finalise(
        stitched.path("stitched.mp4"), out, pngs, music_out.path(str(mix)) if mix else None, plan.total_frames, plan.fps
    )
