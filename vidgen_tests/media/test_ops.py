"""Operations write atomically and report failures with the command and stderr."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from vidgen_assets.media import ops
from vidgen_assets.media.files import atomic_output
from vidgen_assets.media.runner import MediaError
from vidgen_tests.media.helpers import BLUE, RED, make_clip


def test_failed_command_leaves_no_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    out = tmp_path / "chunk.mp4"
    with pytest.raises(MediaError) as failure:
        ops.normalise_chunk(junk, out, 160, 90, 24, 10, drop_first=False)
    assert "junk.mp4" in str(failure.value) and failure.value.stderr
    assert not out.exists()
    out.write_bytes(b"previous")
    with pytest.raises(MediaError):
        ops.normalise_chunk(junk, out, 160, 90, 24, 10, drop_first=False)
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunk.mp4", "junk.mp4"]


def test_encode_frames_rejects_wrong_shapes_without_leaving_files(tmp_path: Path) -> None:
    frames = [np.zeros((90, 160, 3), np.uint8), np.zeros((90, 161, 3), np.uint8)]
    with pytest.raises(ValueError, match="frame 1"):
        ops.encode_frames(frames, tmp_path / "c.mp4", 160, 90, 24)
    assert list(tmp_path.iterdir()) == []


def test_encode_frames_writes_into_new_directories(tmp_path: Path) -> None:
    info = make_clip(tmp_path / "a" / "b" / "c.mp4", 3, 30, RED)
    assert (info.frames, info.fps) == (3, Fraction(30))


def test_atomic_output_replaces_only_on_success(tmp_path: Path) -> None:
    out = tmp_path / "x.txt"
    with atomic_output(out) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".txt"
        tmp.write_text("one")
    assert out.read_text() == "one"
    with pytest.raises(RuntimeError), atomic_output(out) as tmp:
        tmp.write_text("two")
        raise RuntimeError("boom")
    assert out.read_text() == "one"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_stream_copy_joins_only_pieces_with_the_same_h264_headers(tmp_path: Path) -> None:
    from vidgen_assets.media.commands import Stretch, Transition
    from vidgen_assets.media.probe import probe, video_headers

    red, blue = make_clip(tmp_path / "red.mp4", 30, 24, RED), make_clip(tmp_path / "blue.mp4", 30, 24, BLUE)
    assert red.frames == blue.frames == 30
    # A body (the pieces' `fast` settings) and a transition (`veryfast`, its header settings pinned).
    body, tail, head = tmp_path / "body.mp4", tmp_path / "tail.mp4", tmp_path / "head.mp4"
    ops.pair_pieces([tmp_path / "red.mp4"], [], 24, Stretch(0, 20, body), [Stretch(19, 30, tail)])
    ops.pair_pieces([tmp_path / "blue.mp4"], [], 24, None, [Stretch(0, 10, head)])
    fade = tmp_path / "fade.mp4"
    ops.transition_pieces([Transition((tail,), 1, (head,), 10, "fade", (), fade)], 24)
    assert video_headers(body) == video_headers(fade) != b""
    joined = ops.concat_copy([body, fade], tmp_path / "joined.mp4")
    assert joined.frames == 30

    # A chunk is encoded with other settings: joining it by stream copy is refused, nothing written.
    out = tmp_path / "refused.mp4"
    with pytest.raises(MediaError, match=r"red\.mp4 were encoded with other H\.264 headers than body\.mp4"):
        ops.concat_copy([body, fade, tmp_path / "red.mp4"], out)
    assert not out.exists()
    assert probe(fade).frames == 10
