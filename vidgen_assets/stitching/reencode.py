"""The reencode stitch path: one xfade graph over every chunk, re-encoded, then a second encode that
burns the text in and mixes the music. The reference the copy path is tested against."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from vidgen_assets.core.plan import Plan
from vidgen_assets.media import ops
from vidgen_assets.media.commands import Join, Overlay
from vidgen_assets.media.text import render_text_overlay
from vidgen_assets.stitching import music_fades
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts


def stitch(plan: Plan, pairs: Mapping[str, Artifacts], out: Path) -> None:
    """Every chunk in order, each beat boundary its planned transition, re-encoded."""
    joins = [Join(transition=j.transition, frames=j.frames, offset_frame=j.offset_frame) for j in plan.joins]
    clips = [[pairs[b.pair_key].path(layout.chunk_video(c.index)) for c in b.chunks] for b in plan.beats]
    ops.stitch(clips, joins, plan.fps, out)


def finish(plan: Plan, stitched: Artifacts, music_out: Artifacts, scratch: Path, out: Path) -> None:
    """The final video: the text burnt in, the music mixed with its fades, re-encoded."""
    spec = plan.spec
    pngs = []
    for i, overlay in enumerate(plan.overlays):
        png = scratch / f"text_{i:02d}.png"
        render_text_overlay(overlay.text, plan.width, plan.height, png, overlay.style)
        pngs.append(Overlay(png=png, start_frame=overlay.start_frame, end_frame=overlay.end_frame))
    music_rel = music_out.record.get("music")
    music_path = music_out.path(str(music_rel)) if music_rel else None
    ops.finalise(
        stitched.path("stitched.mp4"), out, pngs, music_path, spec.music.volume if spec.music else 0.0,
        plan.total_frames, plan.fps, *music_fades(plan),
    )  # fmt: skip
