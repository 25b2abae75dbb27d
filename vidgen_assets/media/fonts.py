"""Fonts that ship inside installed packages: nothing is ever downloaded.

Order: the active settings' `font` (`$VIDGEN_FONT`, a .ttf/.otf path), then DejaVu Sans from
matplotlib's bundled data (wide Unicode coverage), then Pillow's built-in scalable font.
"""

from __future__ import annotations

from functools import cache
from importlib.util import find_spec
from pathlib import Path

from PIL import ImageFont

from vidgen_assets.settings import FONT_ENV, active

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def font_path(bold: bool = False) -> Path | None:
    """The font file used for text, or None when only Pillow's built-in font is available."""
    return _font_path(active().font, bold)


@cache
def _font_path(override: Path | None, bold: bool) -> Path | None:
    if override is not None:
        if not override.is_file():
            raise FileNotFoundError(f"{FONT_ENV}={str(override)!r}: no such font file")
        return override
    spec = find_spec("matplotlib")
    if spec is not None and spec.origin is not None:
        name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
        candidate = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / name
        if candidate.is_file():
            return candidate
    return None


def load_font(size: int, bold: bool = False) -> Font:
    """A scalable font of `size` pixels."""
    return _load_font(font_path(bold), size)


@cache
def _load_font(path: Path | None, size: int) -> Font:
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(str(path), size=size)
