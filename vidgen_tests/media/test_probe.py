"""probe, last_frame and read_frames on real media."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidgen_assets.media.probe import last_frame, probe, read_frames
from vidgen_assets.media.runner import MediaError
from vidgen_tests.media.helpers import GREEN, band, band_value, make_clip, write_wav


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("probe") / "clip.mp4"
    make_clip(path, 37, 24, GREEN)  # every frame differs (band), longer than one GOP is not needed
    return path


def test_probe_a_clip(clip: Path) -> None:
    info = probe(clip)
    assert (info.width, info.height, info.fps, info.frames) == (160, 90, Fraction(24), 37)
    assert info.duration_s == pytest.approx(37 / 24, abs=1e-3)
    assert (info.video_codec, info.pix_fmt, info.has_video) == ("h264", "yuv420p", True)
    assert (info.has_audio, info.audio_codec, info.audio_duration_s, info.audio_sample_rate) == (
        False, None, None, None,
    )  # fmt: skip


def test_probe_audio_only(tmp_path: Path) -> None:
    info = probe(write_wav(tmp_path / "m.wav", 0.5, rate=22050))
    assert (info.has_video, info.frames, info.has_audio, info.audio_sample_rate) == (False, 0, True, 22050)
    assert info.audio_duration_s == pytest.approx(0.5, abs=1e-3)


def test_last_frame_is_the_last_decoded_frame(clip: Path, tmp_path: Path) -> None:
    out = last_frame(clip, tmp_path / "sub" / "last.png")
    image = Image.open(out)
    assert (image.mode, image.size) == ("RGB", (160, 90))
    decoded = read_frames(clip, [35, 36])
    assert np.array_equal(np.asarray(image), decoded[1])
    assert not np.array_equal(decoded[0], decoded[1])
    assert band(decoded[1]) == pytest.approx(band_value(36), abs=8)


def test_read_frames_in_any_order_with_repeats(clip: Path) -> None:
    frames = read_frames(clip, [5, 0, 5])
    assert [band(f) for f in frames] == pytest.approx([band_value(5), band_value(0), band_value(5)], abs=8)
    with pytest.raises(MediaError, match=r"no frames \[37\]"):
        read_frames(clip, [36, 37])


def test_unreadable_files_raise_media_error_naming_the_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 10)
    for call in (lambda: probe(junk), lambda: last_frame(junk, tmp_path / "x.png"),
                 lambda: read_frames(junk, [0])):  # fmt: skip
        with pytest.raises(MediaError, match=r"junk\.mp4"):
            call()
    with pytest.raises(MediaError, match=r"missing\.mp4"):
        probe(tmp_path / "missing.mp4")
    assert not (tmp_path / "x.png").exists()


def test_last_frame_after_several_keyframes(tmp_path: Path) -> None:
    clip = tmp_path / "long.mp4"
    make_clip(clip, 300, 30, GREEN)  # x264 puts a keyframe every 250 frames: last_frame seeks
    out = last_frame(clip, tmp_path / "last.png")
    second_last, last = read_frames(clip, [298, 299])
    assert np.array_equal(np.asarray(Image.open(out)), last)
    assert not np.array_equal(second_last, last)
