"""Storyboard card helpers: colours, timecodes, layouts (its text: `vidgen_tests/core/test_text.py`)."""

from __future__ import annotations

import pytest

from vidgen_assets.backends.storyboard_card import (
    DEFAULT_PALETTE,
    layout_of,
    palette_colours,
    parse_colour,
    timecode,
)


def test_parse_colour() -> None:
    assert parse_colour("#3b2314") == (0x3B, 0x23, 0x14)
    assert parse_colour("c8a27a") == (0xC8, 0xA2, 0x7A)
    assert parse_colour(" #fff ") == (255, 255, 255)
    assert parse_colour("#11223380") == (0x11, 0x22, 0x33)
    for bad in ("", "#12", "#ggg", "red", "#12345"):
        assert parse_colour(bad) is None


def test_palette_colours_falls_back_and_pads() -> None:
    default = palette_colours(())
    assert default == [parse_colour(c) for c in DEFAULT_PALETTE]
    assert palette_colours(("nonsense", "#zzz")) == default
    single = palette_colours(("#000000",))
    assert len(single) == 2
    assert single[0] == (0, 0, 0)
    assert single[1] != (0, 0, 0)


def test_timecode() -> None:
    assert timecode(0, 24) == "00:00.00"
    assert timecode(120, 24) == "00:05.00"
    assert timecode(240, 24) == "00:10.00"
    assert timecode(1, 24) == "00:00.04"  # 4.1667 hundredths
    assert timecode(5, 24) == "00:00.21"  # 20.83 rounds up
    assert timecode(1800, 30) == "01:00.00"
    assert timecode(7499, 25) == "04:59.96"


@pytest.mark.parametrize(
    ("size", "layout"),
    [
        ((1024, 576), "landscape"),
        ((576, 1024), "portrait"),
        ((720, 720), "square"),
        ((854, 480), "landscape"),
    ],
)
def test_layout_of(size: tuple[int, int], layout: str) -> None:
    assert layout_of(*size) == layout
