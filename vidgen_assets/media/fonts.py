"""Fonts that ship inside installed packages: nothing is ever downloaded.

Order: the active settings' `font` (`$VIDGEN_FONT`, a .ttf/.otf path), then DejaVu Sans from
matplotlib's bundled data (wide Unicode coverage), then Pillow's built-in scalable font.
"""

from __future__ import annotations

import math
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


def text_width(font: Font, text: str) -> float:
    """The width of `text` in `font` (a `core.text.Measure`): as drawn, or as its ASCII fallback
    (`?` for what the font cannot encode) draws; infinite when neither can be measured."""
    for candidate in (text, text.encode("ascii", "replace").decode("ascii")):
        try:
            return float(font.getlength(candidate))
        except (UnicodeError, ValueError, OSError):
            continue
    return math.inf


def font_dir() -> Path | None:
    """The folder libass looks in for caption fonts (`ass` filter's `fontsdir`): the text font's folder."""
    path = font_path()
    return path.parent if path is not None else None


@cache
def _families(folder: Path | None) -> dict[str, Path]:
    found: dict[str, Path] = {}
    if folder is None:
        return found
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in (".ttf", ".otf"):
            try:
                family, style = ImageFont.truetype(str(path), size=12).getname()
            except OSError:
                continue
            if family and (family not in found or style == "Book" or style == "Regular"):
                found[family] = path
    return found


def families() -> dict[str, Path]:
    """The font families captions can use (family name -> a file of it), from `font_dir()`."""
    return _families(font_dir())
