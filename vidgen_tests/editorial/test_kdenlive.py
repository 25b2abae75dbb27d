"""The Kdenlive project, rendered by an independent renderer: MLT's `melt` (Debian's `melt`, installed by
scripts/system-deps.sh) renders the exported project, and its picture is compared with vidgen's own
stitched video frame by frame."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from vidgen_assets.cli import main
from vidgen_assets.media import probe
from vidgen_tests.editorial.conftest import Rendered

pytestmark = pytest.mark.slow

MIN_PSNR_DB = 33.0
"""Every frame outside a transition (the melt render against vidgen's stitched video, both decoded)."""
MEAN_PSNR_DB = 38.0


def melt_render(project: Path, out: Path, cwd: Path) -> None:
    """Render a project with `melt` to a lossless file (FFV1 video, PCM audio)."""
    melt = shutil.which("melt")
    if melt is None:
        pytest.fail("melt is not installed: run `apt-get install -y melt` (scripts/system-deps.sh does it)")
    # melt's Qt services (qimage, qtblend) need a display name, and the offscreen platform without one.
    env = {**os.environ, "DISPLAY": os.environ.get("DISPLAY") or ":0", "QT_QPA_PLATFORM": "offscreen"}
    args = [melt, "-quiet", str(project), "-consumer", f"avformat:{out}", "vcodec=ffv1", "acodec=pcm_s16le",
            "real_time=-1"]  # fmt: skip
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and out.exists(), f"melt failed ({done.returncode}):\n{done.stderr[-2000:]}"


def rgb_frames(path: Path) -> Iterator[npt.NDArray[np.uint8]]:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)


def psnr(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


@pytest.fixture(scope="module")
def melted(rendered: Rendered, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The exported Kdenlive project rendered by melt, run from another folder (media paths are relative
    to the project)."""
    assert (
        main(["export", str(rendered.spec_path), "--format", "kdenlive", "--data-dir", str(rendered.settings.data_dir)])
        == 0
    )
    out = tmp_path_factory.mktemp("melt") / "melt.mkv"
    melt_render(rendered.video / "final.kdenlive", out, cwd=out.parent)
    return out


def test_melt_renders_the_project_to_the_stitched_picture_outside_transitions(rendered: Rendered, melted: Path):
    plan = rendered.plan
    blended = {
        f
        for j in plan.joins
        if j.transition not in ("cut", "bridge")
        for f in range(j.offset_frame, j.offset_frame + j.frames)
    }
    assert blended, "the sample has transitions"
    ours = list(rgb_frames(rendered.video / "stitched.mp4"))
    theirs = list(rgb_frames(melted))
    assert len(theirs) == len(ours) == plan.total_frames
    outside = [psnr(a, b) for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if i not in blended]
    print(f"melt vs stitched: {len(theirs)} and {len(ours)} frames; outside {len(blended)} transition frames: "
          f"PSNR min {min(outside):.2f} dB, mean {np.mean(outside):.2f} dB over {len(outside)} frames")  # fmt: skip
    assert min(outside) >= MIN_PSNR_DB
    assert float(np.mean(outside)) >= MEAN_PSNR_DB
    # Frame for frame: the same comparison one frame off is clearly worse (the camera moves).
    shifted = [psnr(a, b) for i, (a, b) in enumerate(zip(ours, theirs[1:], strict=False)) if i not in blended]
    assert float(np.mean(shifted)) < float(np.mean(outside)) - 3


def test_the_titles_are_a_layer_of_the_project_and_in_the_render(rendered: Rendered, melted: Path):
    """vidgen burns its text in; the project lays the same text over the clips as images: without that
    layer the caption's frames would differ from the stitched ones."""
    project = ET.parse(rendered.video / "final.kdenlive").getroot()
    resources = {p.findtext("property[@name='resource']") for p in project.iter("producer")}
    assert {"titles/beat_00.png", "titles/cta.png"} <= resources
    caption = rendered.plan.beats[0].frames // 2
    ours = next(f for i, f in enumerate(rgb_frames(rendered.video / "stitched.mp4")) if i == caption)
    theirs = next(f for i, f in enumerate(rgb_frames(melted)) if i == caption)
    band = slice(int(0.75 * ours.shape[0]), int(0.9 * ours.shape[0]))  # the caption's lower third
    assert psnr(ours[band], theirs[band]) >= MIN_PSNR_DB


def test_the_render_has_the_music_and_the_voice_for_the_whole_video(rendered: Rendered, melted: Path):
    info = probe.probe(melted)
    assert info.has_audio
    assert abs((info.audio_duration_s or 0) - rendered.plan.duration_s) <= 0.1
