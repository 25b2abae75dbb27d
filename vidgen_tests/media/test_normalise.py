"""normalise_chunk on real media: size, rate, exact frame count, dropped first frame, padding."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from vidgen_assets.media import ops
from vidgen_assets.media.probe import read_frames
from vidgen_tests.media.helpers import RED, band, band_value, make_clip


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An AI-model-like clip: 16 fps, 200x100, 20 frames (1.25 s)."""
    path = tmp_path_factory.mktemp("normalise") / "src.mp4"
    make_clip(path, 20, 16, RED, width=200, height=100)
    return path


@pytest.mark.parametrize("drop_first", [False, True])
def test_normalise_to_spec_size_rate_and_frames(source: Path, tmp_path: Path, drop_first: bool) -> None:
    out = tmp_path / "chunk.mp4"
    info = ops.normalise_chunk(source, out, 160, 90, 24, 24, drop_first)
    assert (info.width, info.height, info.fps, info.frames) == (160, 90, Fraction(24), 24)
    assert (info.video_codec, info.pix_fmt, info.has_audio) == ("h264", "yuv420p", False)
    first = read_frames(out, [0])[0]
    # The source's frame 0 (or frame 1 when dropped) opens the chunk. Scaling 100 -> 90 rows keeps the
    # band's middle intact.
    assert band(first) == pytest.approx(band_value(1 if drop_first else 0), abs=8)


def test_normalise_pads_a_short_clip_with_its_last_frame(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "chunk.mp4"
    info = ops.normalise_chunk(source, out, 160, 90, 24, 40, drop_first=True)  # source gives ~29
    assert info.frames == 40
    frames = read_frames(out, [28, 33, 39])
    assert band(frames[0]) == pytest.approx(band_value(19), abs=8)
    assert [band(f) for f in frames[1:]] == pytest.approx([band(frames[0])] * 2, abs=2)


def test_normalise_covers_and_crops_portrait_input(tmp_path: Path) -> None:
    src = tmp_path / "portrait.mp4"
    make_clip(src, 10, 25, RED, width=90, height=160)
    info = ops.normalise_chunk(src, tmp_path / "chunk.mp4", 160, 90, 25, 10, drop_first=False)
    assert (info.width, info.height, info.frames) == (160, 90, 10)
