"""Storyboard card helpers: colours, timecodes, layouts (its text: `vidgen_tests/core/test_text.py`)."""

from __future__ import annotations

from dataclasses import replace

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


@pytest.mark.parametrize("size", [(640, 360), (360, 640), (480, 480)])
def test_with_its_caption_burnt_in_a_cards_prompt_panel_moves_under_its_header(size: tuple[int, int]) -> None:
    """The bottom of the frame is where a burnt caption goes: the card's darkened prompt panel leaves it."""
    import numpy as np

    from vidgen_assets.backends.storyboard_card import render_card
    from vidgen_assets.core.generation import Frame, ImageRequest

    width, height = size
    request = ImageRequest(
        video_id="v", beat_index=0, beat_count=2, beat_name="hero", prompt="a bottle on a sunlit counter",
        camera="push_in", start_frame=0, end_frame=96, frame=Frame(width, height, 24), palette=("#c8a27a",),
        aesthetic="warm", seed=0,
    )  # fmt: skip
    plain = np.asarray(render_card(request).convert("L"), dtype=np.float64)
    burnt = np.asarray(render_card(replace(request, captions_burnt=True)).convert("L"), dtype=np.float64)
    bottom = slice(height - height // 12, height)
    # The same card except where the panel is: darker at the bottom without a caption, lighter with one.
    assert burnt[bottom].mean() > plain[bottom].mean() + 10
    changed_rows = np.nonzero(np.abs(burnt - plain).mean(axis=1) > 1)[0]
    assert changed_rows.min() < height // 3, "the panel is drawn in the top third with a burnt caption"
