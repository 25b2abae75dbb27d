"""stitch on real media: exact frame counts, blends at fades, seamless seams inside a beat."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from vidgen_assets.core.plan import Join
from vidgen_assets.media import ops
from vidgen_assets.media.probe import read_frames
from vidgen_tests.media.helpers import BLUE, GREEN, RED, YELLOW, band, band_value, body, make_clip

COLOURS = [RED, BLUE, GREEN, YELLOW]


def joins_for(lengths: list[int], transitions: list[tuple[str, int]]) -> list[Join]:
    """Joins whose offsets are where each next beat starts on the output timeline."""
    joins: list[Join] = []
    start = 0
    for length, (name, frames) in zip(lengths, transitions, strict=False):
        start += length - frames
        joins.append(Join(transition=name, frames=frames, offset_frame=start))
    return joins


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[tuple[Path, int]]]:
    """Per fps: four one-colour clips of different, awkward lengths."""
    root = tmp_path_factory.mktemp("stitch")
    made: dict[int, list[tuple[Path, int]]] = {}
    for fps in (24, 25, 30):
        lengths = [fps + 7, fps - 5, fps + 1, 20]
        made[fps] = []
        for i, (length, colour) in enumerate(zip(lengths, COLOURS, strict=True)):
            path = root / f"c{fps}_{i}.mp4"
            make_clip(path, length, fps, colour)
            made[fps].append((path, length))
    return made


CASES = {
    "cuts": [("cut", 0), ("cut", 0), ("cut", 0)],
    "fades": [("fade", 12), ("fade", 7), ("fade", 10)],
    "dissolves": [("dissolve", 9), ("dissolve", 12), ("dissolve", 5)],
    "mixed": [("fade", 12), ("cut", 0), ("wipeleft", 6)],
}


@pytest.mark.parametrize("fps", [24, 25, 30])
@pytest.mark.parametrize("case", sorted(CASES))
def test_stitched_frame_count_is_sum_minus_transitions(
    clips: dict[int, list[tuple[Path, int]]], tmp_path: Path, fps: int, case: str
) -> None:
    lengths = [n for _, n in clips[fps]]
    joins = joins_for(lengths, CASES[case])
    info = ops.stitch([[p] for p, _ in clips[fps]], joins, fps, tmp_path / "s.mp4")
    assert info.frames == sum(lengths) - sum(j.frames for j in joins)
    assert (info.fps, info.width, info.height, info.pix_fmt, info.has_audio) == (
        Fraction(fps),
        160,
        90,
        "yuv420p",
        False,
    )


def test_fade_midpoint_blends_and_lands_on_exact_frames(
    clips: dict[int, list[tuple[Path, int]]], tmp_path: Path
) -> None:
    (a, la), (b, _) = clips[30][:2]
    fade = 10
    join = Join(transition="fade", frames=fade, offset_frame=la - fade)
    out = tmp_path / "s.mp4"
    ops.stitch([[a], [b]], [join], 30, out)
    off = join.offset_frame
    before, first, mid, last, after = read_frames(out, [off - 1, off, off + 5, off + fade - 1, off + fade])
    red, blue = np.array(RED), np.array(BLUE)

    def mix(weight_of_a: float) -> np.ndarray:
        return weight_of_a * red + (1 - weight_of_a) * blue

    assert np.allclose(body(before), red, atol=6)
    # A T-frame transition shows T mixes, centred: (T - 0.5) / T of A on its first frame, 0.5 / T on its last.
    assert np.allclose(body(first), mix(0.95), atol=6)
    assert np.allclose(body(mid), mix(0.45), atol=6)
    assert body(mid).mean() == pytest.approx(((red + blue) / 2).mean(), abs=6)
    assert np.allclose(body(last), mix(0.05), atol=6)
    assert np.allclose(body(after), blue, atol=6)
    assert band(after) == pytest.approx(band_value(fade), abs=8)  # B's frame `fade`: nothing slipped


def test_one_beat_alone(clips: dict[int, list[tuple[Path, int]]], tmp_path: Path) -> None:
    path, length = clips[25][0]
    assert ops.stitch([[path]], [], 25, tmp_path / "s.mp4").frames == length


def test_chunks_inside_a_beat_join_without_duplicated_or_dropped_frames(tmp_path: Path) -> None:
    fps, sizes = 24, [10, 9, 11]
    chunks, first = [], 0
    for i, size in enumerate(sizes):
        path = tmp_path / f"chunk{i}.mp4"
        make_clip(path, size, fps, GREEN, first_index=first)  # numbering continues across chunks
        chunks.append(path)
        first += size
    other = tmp_path / "other.mp4"
    make_clip(other, 12, fps, RED)
    out = tmp_path / "s.mp4"
    info = ops.stitch([chunks, [other]], [Join(transition="dissolve", frames=6, offset_frame=sum(sizes) - 6)], fps, out)
    assert info.frames == sum(sizes) + 12 - 6
    bands = [band(f) for f in read_frames(out, list(range(sum(sizes) - 6)))]
    assert bands == pytest.approx([band_value(i) for i in range(len(bands))], abs=8)
    assert all(abs(x - y) > 20 for x, y in itertools.pairwise(bands))


def test_stitch_rejects_joins_that_do_not_match_the_clips(
    clips: dict[int, list[tuple[Path, int]]], tmp_path: Path
) -> None:
    (a, la), (b, _) = clips[24][:2]
    with pytest.raises(ValueError, match="should start at frame"):
        ops.stitch([[a], [b]], [Join(transition="fade", frames=12, offset_frame=la)], 24, tmp_path / "s.mp4")
    assert not (tmp_path / "s.mp4").exists()
