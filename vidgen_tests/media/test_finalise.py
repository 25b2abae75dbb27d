"""finalise on real media: duration, audio or none, faststart, overlays on their exact frames."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from vidgen_assets.media import ops
from vidgen_assets.media.commands import Overlay
from vidgen_assets.media.probe import read_frames
from vidgen_assets.media.text import render_text_overlay
from vidgen_tests.media.helpers import BAND, BLUE, make_clip, top_level_boxes, write_wav

FPS = 25
TOTAL = 40


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("finalise")
    make_clip(root / "stitched.mp4", 36, FPS, BLUE)  # 4 frames short: finalise pads to TOTAL
    write_wav(root / "music.wav", 0.7)  # shorter than the video: padded with silence
    ops.music_mix(root / "music.wav", root / "music.m4a", 0.8, TOTAL, FPS, 0.2, 0.3, (-14.0, -1.0))  # finished
    render_text_overlay('Wake up: 100% "different"', 160, 90, root / "caption.png", "caption")
    render_text_overlay("Order today", 160, 90, root / "cta.png", "cta")
    return {"stitched": root / "stitched.mp4", "music": root / "music.m4a",
            "caption": root / "caption.png", "cta": root / "cta.png"}  # fmt: skip


def test_finalise_with_music_and_overlays(media: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "final.mp4"
    overlays = [Overlay(media["caption"], 5, 12), Overlay(media["cta"], 30, TOTAL)]
    info = ops.finalise(media["stitched"], out, overlays, media["music"], TOTAL, FPS)
    assert info.frames == TOTAL
    assert info.duration_s == pytest.approx(TOTAL / FPS, abs=1 / FPS)
    assert (info.video_codec, info.pix_fmt, info.fps) == ("h264", "yuv420p", Fraction(FPS))
    assert (info.has_audio, info.audio_codec, info.audio_sample_rate) == (True, "aac", 48000)
    assert info.audio_duration_s == pytest.approx(TOTAL / FPS, abs=1 / FPS)
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")

    frames = [f[BAND:].astype(np.int16) for f in read_frames(out, list(range(TOTAL)))]  # below the numbers
    changed = [int(np.abs(f - frames[0]).max()) > 40 for f in frames]
    assert changed == [5 <= n < 12 or n >= 30 for n in range(TOTAL)]


def test_finalise_without_music_has_no_audio(media: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "final.mp4"
    info = ops.finalise(media["stitched"], out, [], None, TOTAL, FPS)
    assert (info.frames, info.has_audio, info.pix_fmt) == (TOTAL, False, "yuv420p")
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")


def test_finalise_trims_long_music_and_video(media: dict[str, Path], tmp_path: Path) -> None:
    music = write_wav(tmp_path / "long.wav", 5.0, rate=48000, channels=2)
    ops.music_mix(music, tmp_path / "long.m4a", 1.0, 30, FPS, 0.0, 1.0, (-14.0, -1.0))  # the mix: exactly 30 frames
    info = ops.finalise(media["stitched"], tmp_path / "f.mp4", [], tmp_path / "long.m4a", 30, FPS)
    assert info.frames == 30
    assert info.audio_duration_s == pytest.approx(30 / FPS, abs=1 / FPS)
