"""Fonts that ship inside installed packages: nothing is ever downloaded.

Order: `$VIDGEN_FONT` (a .ttf/.otf path), then DejaVu Sans from matplotlib's bundled data (wide Unicode
coverage), then Pillow's built-in scalable font.
"""

from __future__ import annotations

import os
from functools import cache
from importlib.util import find_spec
from pathlib import Path

from PIL import ImageFont

FONT_ENV = "VIDGEN_FONT"
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@cache
def font_path(bold: bool = False) -> Path | None:
    """The font file used for text, or None when only Pillow's built-in font is available."""
    override = os.environ.get(FONT_ENV)
    if override:
        path = Path(override)
        if not path.is_file():
            raise FileNotFoundError(f"{FONT_ENV}={override!r}: no such font file")
        return path
    spec = find_spec("matplotlib")
    if spec is not None and spec.origin is not None:
        name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
        candidate = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / name
        if candidate.is_file():
            return candidate
    return None


@cache
def load_font(size: int, bold: bool = False) -> Font:
    """A scalable font of `size` pixels."""
    path = font_path(bold)
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(str(path), size=size)
