"""Styled, word-timed captions burned by libass, checked on decoded frames: the highlight moves word by
word at the engine's times, the style's size and colours, the position, and the safe area's margins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from vidgen_assets.core.captions import SAFE_AREAS
from vidgen_assets.core.spec import SubtitlesSpec
from vidgen_assets.media import captions, ops
from vidgen_assets.media.probe import read_frames

FPS = 25
GREY = (80, 80, 80)
LINE = "Steeped for twenty hours"
ENGINE = (("Steeped", 0.0), ("for", 0.52), ("twenty", 0.84), ("hours", 1.4))
START, END = 0.4, 2.6  # seconds in the video


def burn(tmp_path: Path, subtitles: SubtitlesSpec, size: tuple[int, int], cues: list[captions.Caption]) -> Path:
    width, height = size
    tmp_path.mkdir(parents=True, exist_ok=True)
    clip = tmp_path / "plain.mp4"
    grey = np.full((height, width, 3), GREY, np.uint8)
    ops.encode_frames((grey for _ in range(3 * FPS)), clip, width, height, FPS)
    ass = tmp_path / "final.ass"
    captions.write(cues, subtitles, width, height, ass)
    out = tmp_path / "burnt.mp4"
    ops.finalise(clip, out, [], None, 3 * FPS, FPS, captions=ass)
    return out


def mask(frame: npt.NDArray[np.uint8], colour: tuple[int, int, int], tolerance: int = 90) -> npt.NDArray[np.bool_]:
    """Pixels near `colour` (H.264's 4:2:0 chroma blurs a glyph's colour at its edges)."""
    return np.asarray(np.abs(frame.astype(int) - np.array(colour)).sum(axis=2) < tolerance)


def test_the_spoken_word_is_highlighted_word_by_word_at_the_engines_times(tmp_path):
    spec = SubtitlesSpec.model_validate({"mode": "burn", "words": True, "style": {"size": 0.1, "background": None}})
    out = burn(tmp_path, spec, (640, 360), [captions.Caption(LINE, START, END, ENGINE)])
    starts = [round((START + offset) * FPS) for _, offset in ENGINE]
    # Two frames into each word: the highlight (the style's #ffd400) sits on that word, left to right.
    frames = read_frames(out, [s + 2 for s in starts] + [s - 2 for s in starts[1:]])
    highlight = (255, 212, 0)
    xs = [float(np.nonzero(mask(f, highlight))[1].mean()) for f in frames[: len(starts)]]
    assert xs == sorted(xs) and len(set(round(x) for x in xs)) == len(xs)
    # Two frames before each next word, the word before it is still the highlighted one.
    before = [float(np.nonzero(mask(f, highlight))[1].mean()) for f in frames[len(starts) :]]
    assert before == pytest.approx(xs[:-1], abs=1.0)
    # The other words are drawn in the caption colour meanwhile; before the line starts, nothing is drawn.
    assert mask(frames[0], (255, 255, 255)).sum() > 50
    empty = read_frames(out, [round(START * FPS) - 3])[0]
    assert not mask(empty, highlight).any() and not mask(empty, (255, 255, 255)).any()


def test_the_style_sets_size_colours_and_the_box(tmp_path):
    style = {"color": "#00ff00", "background": "#ff000080", "size": 0.08, "position": "top"}
    out = burn(tmp_path / "a", SubtitlesSpec.model_validate({"mode": "burn", "style": style}),
               (640, 360), [captions.Caption(LINE, START, END)])  # fmt: skip
    small = burn(tmp_path / "b", SubtitlesSpec.model_validate({"mode": "burn", "style": {**style, "size": 0.04}}),
                 (640, 360), [captions.Caption(LINE, START, END)])  # fmt: skip
    big, little = (read_frames(path, [FPS])[0] for path in (out, small))

    def greenish(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
        r, g, b = (frame[..., i].astype(int) for i in range(3))
        return (g > r + 60) & (g > b + 60)

    green = greenish(big)
    rows = np.nonzero(green.any(axis=1))[0]
    assert rows.max() < 360 / 2  # `position: top`
    height_big = rows.max() - rows.min()
    small_rows = np.nonzero(greenish(little).any(axis=1))[0]
    assert 1.7 < height_big / (small_rows.max() - small_rows.min()) < 2.8  # 0.08 vs 0.04 of the frame height
    # The half-opaque red box behind the text: grey mixed with red, around the glyphs.
    boxed = mask(big, (168, 40, 40), tolerance=60)
    assert boxed.sum() > green.sum()


def test_captions_keep_clear_of_a_platforms_controls_on_a_vertical_video(tmp_path):
    width, height = 540, 960
    long_line = "Order today and get twenty percent off your very first box of cold brew"
    cue = [captions.Caption(long_line, START, END)]
    plain = read_frames(burn(tmp_path / "none", SubtitlesSpec(mode="burn"), (width, height), cue), [FPS])[0]
    safe = read_frames(
        burn(tmp_path / "tiktok", SubtitlesSpec(mode="burn", safe_area="tiktok"), (width, height), cue), [FPS]
    )[0]
    margins = SAFE_AREAS["tiktok"]
    drawn = np.nonzero(np.abs(safe.astype(int) - np.array(GREY)).sum(axis=2) > 60)
    assert drawn[0].max() < height * (1 - margins.bottom)  # above TikTok's caption and sound bar
    assert drawn[1].max() < width * (1 - margins.right)  # left of its action column
    assert drawn[1].min() > width * margins.left
    drawn_plain = np.nonzero(np.abs(plain.astype(int) - np.array(GREY)).sum(axis=2) > 60)
    assert drawn_plain[0].max() > height * (1 - margins.bottom)  # without it, the caption sits lower


def test_a_caption_moves_to_the_top_on_a_beat_whose_text_is_at_the_bottom(tmp_path):
    cues = [captions.Caption(LINE, 0.2, 1.2, beat_caption=True), captions.Caption("Then poured", 1.6, 2.8)]
    out = burn(tmp_path, SubtitlesSpec(mode="burn"), (640, 360), cues)
    first, second = read_frames(out, [round(0.7 * FPS), round(2.2 * FPS)])
    for frame, top in ((first, True), (second, False)):
        rows = np.nonzero((np.abs(frame.astype(int) - np.array(GREY)).sum(axis=2) > 60).any(axis=1))[0]
        assert bool(rows.max() < 180) is top and bool(rows.min() > 180) is not top


def test_text_with_braces_and_backslashes_is_drawn_as_text(tmp_path):
    doc, _ = captions.document([captions.Caption("{\\b1}bold? C:\\path\nnext", 0, 1)], SubtitlesSpec(), 640, 360)
    assert [e.text for e in doc.events] == ["(\u2216b1)bold? C:\u2216path\\Nnext"]
