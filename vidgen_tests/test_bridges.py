"""`transition: bridge` end to end with the animatic: the example spec rendered (real Dagster runs, real
ffmpeg); its render against the fake Replicate API is in `backends/test_replicate_bridges.py`."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidgen_assets.backends.bridge_motion import bridge_frames
from vidgen_assets.cli import main
from vidgen_assets.core.spec import load_spec
from vidgen_assets.media import probe
from vidgen_assets.runner import Runner
from vidgen_tests.conftest import EXAMPLES

EXAMPLE = EXAMPLES / "bridge-tour.yaml"


def frame_at(video: Path, index: int, tmp: Path) -> np.ndarray:
    """Frame `index` of `video` as RGB floats (decoded by PyAV)."""
    import av

    with av.open(str(video)) as container:
        for n, frame in enumerate(container.decode(video=0)):
            if n == index:
                return np.asarray(frame.to_image().convert("RGB"), dtype=np.float32)
    raise IndexError(index)


def image(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)


def diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def test_the_bridge_drawing_is_a_camera_move_from_one_frame_into_the_other():
    rng = np.random.default_rng(0)
    a = Image.fromarray(rng.integers(0, 255, (90, 160, 3), dtype=np.uint8))
    b = Image.fromarray(np.full((90, 160, 3), (200, 40, 40), np.uint8))
    frames = list(bridge_frames(a, b, 24))
    assert len(frames) == 24
    assert np.array_equal(frames[0], np.asarray(a)) and np.array_equal(frames[-1], np.asarray(b))
    middle = frames[12].astype(np.float32)
    dissolve = (np.asarray(a, np.float32) + np.asarray(b, np.float32)) / 2
    assert diff(middle, dissolve) > 20, "not a plain dissolve"
    # The incoming frame arrives from one side: the right of the middle frame is already mostly `b`.
    right, left = middle[:, 120:], middle[:, :40]
    assert diff(right, np.asarray(b, np.float32)[:, 120:]) < diff(left, np.asarray(b, np.float32)[:, :40])


@pytest.mark.slow
def test_the_example_renders_with_the_animatic_and_a_changed_beat_remakes_only_its_bridges(
    settings, home, tmp_path, capsys
):
    spec = load_spec(EXAMPLE)
    report = Runner(settings, home, progress=print).render(spec, EXAMPLE.read_text())
    video = settings.data_dir / "videos" / spec.id
    final = probe.probe(video / "final.mp4")
    assert (final.frames, final.width, final.height, final.fps) == (480, 854, 480, Fraction(24))
    b000, b002 = (json.loads((video / "bridges" / f"{key}.json").read_text()) for key in ("b000", "b002"))
    assert [(b["from_beat"], b["to_beat"], b["start_frame"], b["frames"]) for b in (b000, b002)] == [
        (0, 1, 120, 24), (2, 3, 360, 36)]  # fmt: skip
    assert probe.probe(video / "bridges" / "b000.mp4").frames == 24
    # The bridge starts on the outgoing beat's last frame and ends on the incoming storyboard image...
    bridge = video / "bridges" / "b000.mp4"
    assert diff(frame_at(bridge, 0, tmp_path), image(video / "chunks" / "chunk_000.last.png")) < 4
    assert diff(frame_at(bridge, 23, tmp_path), image(video / "storyboard" / "beat_01.png")) < 4
    # ... and sits in the final video at frames 120..143, between the approach and the porch's own clip.
    stitched = video / "stitched.mp4"
    assert diff(frame_at(stitched, 119, tmp_path), image(video / "chunks" / "chunk_000.last.png")) < 6
    shown = frame_at(stitched, 130, tmp_path)  # the porch's caption is burnt in over its bridge too
    nearest = min(range(0, 24, 2), key=lambda n: diff(shown, frame_at(bridge, n, tmp_path)))
    assert nearest == 10
    assert report.cost_usd == 0

    # Change the last beat: only the bridge into it (b002) is made again; b000 is reused as it was.
    changed = tmp_path / "bridge-tour.yaml"
    changed.write_text(EXAMPLE.read_text().replace("glowing under the stars", "glowing in the snow"))
    Runner(settings, home, progress=print).render(load_spec(changed), changed.read_text())
    again = [json.loads((video / "bridges" / f"{key}.json").read_text()) for key in ("b000", "b002")]
    assert again[0]["fingerprint"] == b000["fingerprint"]
    assert again[1]["fingerprint"] != b002["fingerprint"]
    assert probe.probe(video / "final.mp4").frames == 480


def test_validate_lists_the_bridges(capsys):
    assert main(["validate", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "bridge b000: approach -> porch, a generated 1s shot from 5s (24 frames, the first of porch)" in out
    assert "bridge b002: fireplace -> night, a generated 1.5s shot from 15s (36 frames, the first of night)" in out
