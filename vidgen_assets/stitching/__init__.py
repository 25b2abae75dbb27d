"""The two stitch paths (`VIDGEN_STITCH`) and what they share.

`copy` (the default, `stitching/copy.py`): each chunk pair encodes its piece of the final video once, in
parallel, and keeps its transition edges losslessly; the serial tail renders only the transitions, joins
the pieces (and the bridges' pieces) by stream copy and muxes the music by stream copy. `reencode`
(`stitching/reencode.py`): one xfade graph over every chunk, re-encoded, then a second encode for the
text and the music: the reference the copy path is tested against.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vidgen_assets.core.captions import SAFE_AREAS, Margins
from vidgen_assets.core.plan import Plan, PlannedBeat
from vidgen_assets.media.commands import Overlay
from vidgen_assets.media.text import render_text_overlay

MUSIC_FADE_IN_S = 1.0
MUSIC_FADE_OUT_S = 2.0


class StageError(RuntimeError):
    """A stage cannot run with what it was given; the message says what to do."""


def incoming_frames(plan: Plan, beat: PlannedBeat) -> int:
    """The frames at the start of `beat`'s clip that an xfade from the beat before covers (none after a
    bridge: the bridge fills those frames of the beat, and the beat's clip starts after it)."""
    return plan.beats[beat.index - 1].overlap_frames if beat.index > 0 else 0


def beat_texts(plan: Plan, beat: PlannedBeat) -> list[tuple[str, str]]:
    """The on-screen texts over `beat` (its caption, and the CTA over the last beat) as (text, style)."""
    return [(o.text, o.style) for o in plan.overlays if o.start_frame == beat.start_frame]


def safe_margins(plan: Plan) -> Margins:
    """The spec's safe area (`subtitles.safe_area`) as margins: on-screen text keeps inside them too."""
    return SAFE_AREAS[plan.spec.subtitles.safe_area]


def beat_texts_key(plan: Plan, beat: PlannedBeat) -> list[object]:
    """What a piece's burnt-in text depends on, for fingerprints: its texts, and a safe area if any."""
    area = plan.spec.subtitles.safe_area
    return [*beat_texts(plan, beat), *([area] if area != "none" else [])]


def text_pngs(plan: Plan, texts: Sequence[tuple[str, str]], scratch: Path, name: str) -> list[Path]:
    pngs = []
    for i, (text, style) in enumerate(texts):
        png = scratch / f"{name}_text_{i}.png"
        render_text_overlay(
            text, plan.width, plan.height, png, "cta" if style == "cta" else "caption", safe_margins(plan)
        )
        pngs.append(png)
    return pngs


def text_overlays(plan: Plan, scratch: Path) -> list[Overlay]:
    """The plan's on-screen texts as PNG overlays over their frames (for a path that re-encodes the picture)."""
    pngs = []
    for i, overlay in enumerate(plan.overlays):
        png = scratch / f"text_{i:02d}.png"
        render_text_overlay(overlay.text, plan.width, plan.height, png, overlay.style, safe_margins(plan))
        pngs.append(Overlay(png=png, start_frame=overlay.start_frame, end_frame=overlay.end_frame))
    return pngs


def music_fades(plan: Plan) -> tuple[float, float]:
    """The music's fade-in and fade-out in seconds (the fade-out at most a quarter of the video)."""
    return MUSIC_FADE_IN_S, min(MUSIC_FADE_OUT_S, plan.duration_s / 4)
