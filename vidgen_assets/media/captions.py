"""Styled captions as an ASS subtitle file, written with pysubs2 and drawn by libass (ffmpeg's `ass` filter).

The spec's `subtitles.style` becomes the file's one style, in the frame's own pixels (`PlayResX/Y` are the
video's size): the font by family name (found in `fonts.font_dir()`, which the burn passes to libass, so
no system font is needed), its size as a share of the frame height, colour, outline, and a background box
(libass's opaque box, `BorderStyle=3`, its colour the background's, the outline width its padding; without
a background the text is outlined in black). With `words: true` each caption is one event per word: the
whole line on screen, the word being spoken in the highlight colour, from its start to the next word's.

Where a caption sits: `position` (bottom, top or middle), moved clear of the beat's own text as the plain
subtitles always were (bottom and middle go to the top on a beat that shows text there), and kept inside
the safe area's margins. Text is ASS-escaped: braces would open override tags and a backslash a control
sequence, so they are drawn as the nearest characters that are not (`(`, `)`, `∖`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pysubs2

from vidgen_assets.core.captions import SAFE_AREAS, WordTiming, word_times
from vidgen_assets.core.spec import CaptionStyle, SubtitlesSpec
from vidgen_assets.media.files import atomic_output

DEFAULT_SIZE_OF_SHORT_SIDE = 0.05
"""Caption size when the style gives none: 5% of the frame's short side (vidgen's subtitle size)."""
EDGE_MARGIN = 0.04
"""A caption's distance from the frame's edge (share of the height) when no safe area asks for more."""
_ALIGN = {
    "bottom": pysubs2.Alignment.BOTTOM_CENTER,
    "top": pysubs2.Alignment.TOP_CENTER,
    "middle": pysubs2.Alignment.MIDDLE_CENTER,
}


@dataclass(frozen=True)
class Caption:
    """One cue to show: its text, time, the engine's word starts (offsets in the line) if any, and
    which of the beat's own texts are on screen meanwhile (a caption band, a CTA)."""

    text: str
    start_s: float
    end_s: float
    engine_words: tuple[tuple[str, float], ...] | None = None
    beat_caption: bool = False
    beat_cta: bool = False


def _colour(hex_colour: str) -> pysubs2.Color:
    """`#rrggbb` or `#rrggbbaa` (aa: opacity) as an ASS colour (whose alpha counts transparency)."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    opacity = int(hex_colour[7:9], 16) if len(hex_colour) == 9 else 255
    return pysubs2.Color(r, g, b, 255 - opacity)


def _ass_colour_tag(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"&H{b:02X}{g:02X}{r:02X}&"


def escape(text: str) -> str:
    """Text as an ASS event shows it literally; line breaks become `\\N`."""
    safe = text.replace("\\", "\u2216").replace("{", "(").replace("}", ")")
    return "\\N".join(part.strip() for part in safe.replace("\r\n", "\n").split("\n") if part.strip())


def placement(position: str, beat_caption: bool, beat_cta: bool) -> str:
    """Where a caption goes on a beat: its `position`, unless the beat's own text is there (the caption
    band sits low, the CTA in the middle), then at the top."""
    if (position == "bottom" and beat_caption) or (position == "middle" and beat_cta):
        return "top"
    return position


def font_size_px(style: CaptionStyle, width: int, height: int) -> int:
    return max(
        8, round(style.size * height if style.size is not None else DEFAULT_SIZE_OF_SHORT_SIDE * min(width, height))
    )


def margins_px(subtitles: SubtitlesSpec, width: int, height: int) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) in pixels: the safe area's, at least the edge margin, plus what the
    outline or the box draws beyond the glyphs (so that the box, too, stays inside)."""
    safe = SAFE_AREAS[subtitles.safe_area]
    pad = math.ceil(max(subtitles.style.outline, 1.0)) + 1
    edge = round(EDGE_MARGIN * height)
    side = round(0.05 * width)
    return (
        max(side, math.ceil(safe.left * width) + pad),
        max(side, math.ceil(safe.right * width) + pad),
        max(edge, math.ceil(safe.top * height) + pad),
        max(edge, math.ceil(safe.bottom * height) + pad),
    )


def document(
    captions: Sequence[Caption], subtitles: SubtitlesSpec, width: int, height: int
) -> tuple[pysubs2.SSAFile, list[WordTiming]]:
    """The ASS document of `captions` in the spec's caption style, and how each caption's words were timed."""
    style = subtitles.style
    doc = pysubs2.SSAFile()
    doc.info.update({"PlayResX": str(width), "PlayResY": str(height), "WrapStyle": "0", "ScaledBorderAndShadow": "yes"})
    left, right, top, bottom = margins_px(subtitles, width, height)
    base = pysubs2.SSAStyle(
        fontname=style.font, fontsize=font_size_px(style, width, height), primarycolor=_colour(style.color),
        secondarycolor=_colour(style.highlight), bold=False, shadow=0, marginl=left, marginr=right,
    )  # fmt: skip
    if style.background is not None:
        base.borderstyle, base.outline = 3, max(style.outline, 1.0)
        base.outlinecolor = base.backcolor = _colour(style.background)
    else:
        base.borderstyle, base.outline, base.outlinecolor = 1, style.outline, pysubs2.Color(0, 0, 0, 0)
    for name in ("bottom", "top", "middle"):
        placed = base.copy()
        placed.alignment = _ALIGN[name]
        placed.marginv = {"bottom": bottom, "top": top, "middle": 0}[name]
        doc.styles[name] = placed
    timings: list[WordTiming] = []
    highlight = _ass_colour_tag(style.highlight)
    for caption in captions:
        where = placement(style.position, caption.beat_caption, caption.beat_cta)
        words, timing = word_times(caption.text, caption.start_s, caption.end_s, caption.engine_words)
        timings.append(timing)
        if not subtitles.words or not words:
            doc.append(_event(caption.start_s, caption.end_s, where, escape(caption.text)))
            continue
        for i, word in enumerate(words):
            text = " ".join(
                f"{{\\1c{highlight}}}{escape(w.text)}{{\\r}}" if j == i else escape(w.text) for j, w in enumerate(words)
            )
            doc.append(_event(word.start_s, word.end_s, where, text))
    return doc, timings


def _event(start_s: float, end_s: float, style: str, text: str) -> pysubs2.SSAEvent:
    return pysubs2.SSAEvent(start=round(start_s * 1000), end=round(end_s * 1000), style=style, text=text)


def write(
    captions: Sequence[Caption], subtitles: SubtitlesSpec, width: int, height: int, out: Path
) -> list[WordTiming]:
    """Write the ASS file of `captions` (atomically); return how each caption's words were timed."""
    doc, timings = document(captions, subtitles, width, height)
    with atomic_output(out) as tmp:
        doc.save(str(tmp), format_="ass")
    return timings


def drawn_box(ass: Path, width: int, height: int, fps: int, frame: int) -> tuple[int, int, int, int] | None:
    """The box (x0, y0, x1, y1; x1, y1 exclusive) where libass draws `ass` at `frame`: the captions drawn
    alone over flat grey (`commands.caption_frame`), every pixel they change; None when nothing is drawn."""
    import tempfile

    import numpy as np
    from PIL import Image

    from vidgen_assets.media import commands, fonts
    from vidgen_assets.media.runner import run

    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "caption.png"
        run(commands.caption_frame(ass, fonts.font_dir(), width, height, fps, frame, png))
        with Image.open(png) as image:
            pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    changed = np.abs(pixels - commands.CAPTION_PROBE_GREY).max(axis=2) > 8
    rows, cols = np.nonzero(changed.any(axis=1))[0], np.nonzero(changed.any(axis=0))[0]
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1
