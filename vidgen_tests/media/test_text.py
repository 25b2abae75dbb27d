"""Text overlays: any text renders, in the expected region, deterministically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidgen_assets.media.text import render_text_overlay

NASTY = [
    "Wake up different",
    "Emoji ☕🚀👩‍👩‍👧 and CJK 冷萃咖啡 and RTL مرحبا שלום",
    "quotes \"double\" 'single' `back` : colon; 100% \\backslash\\ {braces} [x] ,=",
    "Supercalifragilisticexpialidocious" * 12,
    "line one\nline two\r\n\ttabbed\x00nul\x1b[0m",
    "\ud800 lone surrogate \U000f0000 private",
]


def alpha_rows(path: Path) -> tuple[int, int]:
    alpha = np.asarray(Image.open(path))[:, :, 3]
    rows = np.nonzero(alpha.max(axis=1))[0]
    assert rows.size, "nothing was drawn"
    return int(rows.min()), int(rows.max())


@pytest.mark.parametrize("text", NASTY)
def test_caption_renders_anything_in_the_lower_third(text: str, tmp_path: Path) -> None:
    out = render_text_overlay(text, 320, 180, tmp_path / "c.png", "caption")
    image = Image.open(out)
    assert (image.mode, image.size) == ("RGBA", (320, 180))
    top, bottom = alpha_rows(out)
    assert top >= 180 // 2 and bottom < 180
    assert np.asarray(image)[:40, :, 3].max() == 0


@pytest.mark.parametrize("text", NASTY)
def test_cta_renders_anything_around_the_middle(text: str, tmp_path: Path) -> None:
    out = render_text_overlay(text, 180, 320, tmp_path / "c.png", "cta")  # portrait frame too
    top, bottom = alpha_rows(out)
    assert top < 320 * 0.58 < bottom


def test_output_is_deterministic(tmp_path: Path) -> None:
    a = render_text_overlay(NASTY[1], 320, 180, tmp_path / "a.png", "caption")
    b = render_text_overlay(NASTY[1], 320, 180, tmp_path / "b.png", "caption")
    assert a.read_bytes() == b.read_bytes()


def test_empty_text_gives_a_transparent_image(tmp_path: Path) -> None:
    out = render_text_overlay(" \n\t ", 64, 36, tmp_path / "e.png", "cta")
    assert np.asarray(Image.open(out))[:, :, 3].max() == 0
