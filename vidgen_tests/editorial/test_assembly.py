"""What the final stage writes for editors beside final.mp4: final.otio, the title images, and a tail
made from the chunks when the stitch kept none."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from vidgen_assets.editorial import assembly, otio_timeline
from vidgen_assets.media.text import render_text_overlay
from vidgen_assets.storage.store import LocalStore
from vidgen_tests.editorial.conftest import Rendered

pytestmark = pytest.mark.slow


def test_final_otio_is_written_at_assembly_and_reads_back_the_plan(rendered: Rendered):
    plan = rendered.plan
    record = json.loads((rendered.video / "final.json").read_text())
    assert {"final.otio", "titles/beat_00.png", "titles/cta.png"} <= set(record["files"])
    found = otio_timeline.read_back(otio_timeline.from_json((rendered.video / "final.otio").read_text()), plan.fps)
    assert found.beats == [(b.name, b.start_frame, b.frames) for b in plan.beats]
    assert found.transitions == [("fade", plan.beats[1].start_frame, 0, plan.beats[0].transition_frames)]
    assert found.duration == plan.total_frames == 288


def test_the_title_images_are_the_text_vidgen_burns_in(rendered: Rendered, tmp_path: Path):
    plan = rendered.plan
    for overlay, name in zip(plan.overlays, ("beat_00", "cta"), strict=True):
        fresh = render_text_overlay(overlay.text, plan.width, plan.height, tmp_path / f"{name}.png", overlay.style)
        assert (rendered.video / "titles" / f"{name}.png").read_bytes() == fresh.read_bytes()


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="yuv420p") for f in container.decode(video=0)]


def test_a_tail_made_from_the_chunks_is_the_one_the_copy_path_keeps(rendered: Rendered, tmp_path: Path):
    """With `VIDGEN_STITCH=reencode` no tail is kept; the final stage makes the one a transition needs
    from the beat's chunks (lossless), the same frames as the copy path's."""
    store = LocalStore(rendered.settings.data_dir)
    made = assembly._make_tail(rendered.plan, 0, store, tmp_path / "p000.tail.mp4")
    kept = frames_of(rendered.video / "chunks" / "p000.tail.mp4")
    ours = frames_of(made)
    assert len(ours) == len(kept) == rendered.plan.beats[0].transition_frames + 1
    assert all(np.array_equal(a, b) for a, b in zip(ours, kept, strict=True))
