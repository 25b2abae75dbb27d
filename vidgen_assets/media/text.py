"""On-screen text rendered with Pillow into full-frame transparent PNGs (composited later by ffmpeg).

Rendering text in Python rather than with ffmpeg's `drawtext` avoids filter-graph escaping entirely:
quotes, colons, percent signs and backslashes are just characters here. Any Unicode string renders
without error (glyphs the font lacks come out as the font's placeholder), and the output is
deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw

from vidgen_assets.core.captions import SAFE_AREAS, Margins
from vidgen_assets.core.text import clean_lines, wrap
from vidgen_assets.media.files import atomic_output
from vidgen_assets.media.fonts import Font, load_font, text_width

TextStyle = Literal["caption", "cta"]

NO_MARGINS = SAFE_AREAS["none"]
TEXT_FILL = (255, 255, 255, 255)
BAND_FILL = (0, 0, 0, 150)
SHADOW_FILL = (0, 0, 0, 200)


@dataclass(frozen=True)
class Layout:
    """Where and how large one style's text goes, relative to the frame."""

    size: float  # font size as a fraction of the frame's short side
    centre_y: float  # vertical centre of the text block as a fraction of the height
    max_width: float  # widest line as a fraction of the width
    max_lines: int
    bold: bool


LAYOUTS: dict[TextStyle, Layout] = {
    "caption": Layout(size=0.065, centre_y=0.82, max_width=0.86, max_lines=3, bold=False),
    "cta": Layout(size=0.11, centre_y=0.58, max_width=0.84, max_lines=3, bold=True),
}


def _fit(text: str, width: int, height: int, layout: Layout, room: float | None = None) -> tuple[Font, list[str]]:
    """The largest font (from the layout's size down) whose wrapped text has at most `max_lines`, each
    line at most `room` pixels wide (default: the layout's share of the width)."""
    max_width = width * layout.max_width if room is None else room
    size = max(8, round(min(width, height) * layout.size))
    while True:
        font = load_font(size, bold=layout.bold)
        lines = wrap(text, partial(text_width, font), max_width)
        if len(lines) <= layout.max_lines or size <= 8:
            return font, lines
        size = max(8, size * 9 // 10)


def render_text_overlay(
    text: str, width: int, height: int, out_png: Path, style: TextStyle, safe: Margins = NO_MARGINS
) -> Path:
    """Write a transparent `width` x `height` RGBA PNG with `text` in the given style; return its path.

    `caption`: lower third, centred, wrapped to the frame, on a semi-transparent dark band.
    `cta`: larger and bold, centred slightly below the middle, on a band.
    `safe`: a platform's safe area (`core.captions.SAFE_AREAS`): the text and its band stay inside it
    (narrower, centred between its sides, moved up or down out of its top and bottom margins).
    Empty (or undrawable) text gives a fully transparent image.
    """
    layout = LAYOUTS[style]
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    text = clean_lines(text)
    if text:
        _draw(image, text, layout, safe)
    with atomic_output(out_png) as tmp:
        image.save(tmp, format="PNG")
    return out_png


def _draw(image: Image.Image, text: str, layout: Layout, safe: Margins) -> None:
    width, height = image.size
    left, right = math.ceil(width * safe.left), math.floor(width * (1 - safe.right))  # right: exclusive
    room = min(width * layout.max_width, 0.96 * (right - left))
    font, lines = _fit(text, width, height, layout, room)
    size = int(getattr(font, "size", 10))
    line_height = round(size * 1.25)
    pad = max(2, size // 2)
    rows = max(1, (height - 2 * pad) // line_height)
    if len(lines) > rows:  # only with absurdly long text at the smallest size: keep what fits
        lines = wrap(text, partial(text_width, font), room, max_lines=rows)
    block = line_height * len(lines)
    # The band's rows are top - pad .. top + block + pad, the last one included: all inside the area.
    lowest, highest = math.ceil(height * safe.top) + pad, math.floor(height * (1 - safe.bottom)) - 1 - pad - block
    top = round(height * layout.centre_y - block / 2)
    top = min(max(top, lowest), max(lowest, highest))
    band = Image.new("RGBA", image.size, (0, 0, 0, 0))
    ImageDraw.Draw(band).rectangle((left, top - pad, right - 1, top + block + pad), fill=BAND_FILL)
    image.alpha_composite(band)
    draw = ImageDraw.Draw(image)
    shadow = max(1, size // 20)
    for i, line in enumerate(lines):
        x = (left + right) / 2
        y = top + i * line_height + line_height / 2
        draw.text((x + shadow, y + shadow), line, font=font, fill=SHADOW_FILL, anchor="mm")
        draw.text((x, y), line, font=font, fill=TEXT_FILL, anchor="mm")
