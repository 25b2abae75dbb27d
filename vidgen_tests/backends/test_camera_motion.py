"""Camera pose maths by exact values: poses, relative transforms, chunk layouts, padding."""

from __future__ import annotations

import itertools

import pytest

from vidgen_assets.backends.camera_motion import (
    CAMERAS,
    IDENTITY,
    PAN_PER_SECOND,
    ZOOM_PER_SECOND,
    Affine,
    Pose,
    chunk_affines,
    padding_for,
    pose,
    relative_affine,
    source_frame,
)
from vidgen_assets.core.generation import Camera

W, H, FPS = 1024, 576, 24


def test_constants_are_the_documented_speeds() -> None:
    assert ZOOM_PER_SECOND == 1.03
    assert PAN_PER_SECOND == 0.04


@pytest.mark.parametrize("camera", CAMERAS)
def test_frame_zero_shows_the_whole_card(camera: Camera) -> None:
    assert pose(camera, 0, W, H, FPS) == Pose(1.0, 512.0, 288.0)


def test_pose_exact_values() -> None:
    assert pose("static", 100, W, H, FPS) == Pose(1.0, 512.0, 288.0)
    assert pose("push_in", 24, W, H, 24) == Pose(1.03, 512.0, 288.0)
    assert pose("push_in", 48, W, H, 24).scale == pytest.approx(1.0609, abs=1e-12)
    assert pose("pull_out", 24, W, H, 24).scale == pytest.approx(1 / 1.03, abs=1e-12)
    assert pose("pan_left", 25, 1000, 500, 25) == Pose(1.0, 460.0, 250.0)
    assert pose("pan_right", 12, 1000, 500, 24) == Pose(1.0, 520.0, 250.0)
    assert pose("pan_right", 30, 720, 1280, 30) == Pose(1.0, 360.0 + 28.8, 640.0)


def test_pose_rejects_unknown_camera_and_bad_fps() -> None:
    with pytest.raises(ValueError, match="unknown camera"):
        pose("orbit", 3, W, H, FPS)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fps"):
        pose("static", 3, W, H, 0)


def test_relative_affine_exact_values() -> None:
    start = Pose(1.0, 512.0, 288.0)
    push = relative_affine(start, pose("push_in", 24, W, H, 24), W, H)
    assert push == pytest.approx(Affine(1 / 1.03, 512 - 512 / 1.03, 1 / 1.03, 288 - 288 / 1.03), abs=1e-12)
    pan = relative_affine(Pose(1.0, 500.0, 250.0), pose("pan_left", 25, 1000, 500, 25), 1000, 500)
    assert pan == Affine(1.0, -40.0, 1.0, 0.0)
    # From a zoomed pose, a pan of one card pixel is `scale` pixels of the source image.
    assert relative_affine(Pose(2.0, 100.0, 50.0), Pose(2.0, 101.0, 50.0), 200, 100) == Affine(1.0, 2.0, 1.0, 0.0)
    assert relative_affine(start, start, W, H) == IDENTITY


def test_relative_affines_compose() -> None:
    """Going A -> B then B -> C is the same map as A -> C: what makes chained chunks exact."""
    poses = [
        Pose(1.0, 512.0, 288.0),
        Pose(1.2, 530.5, 280.25),
        Pose(0.9, 470.0, 300.0),
        Pose(1.5, 512.0, 288.0),
    ]
    for a, b, c in itertools.permutations(poses, 3):
        ab, bc, ac = relative_affine(a, b, W, H), relative_affine(b, c, W, H), relative_affine(a, c, W, H)
        composed = Affine(ab.a * bc.a, ab.a * bc.c + ab.c, ab.e * bc.e, ab.e * bc.f + ab.f)
        assert composed == pytest.approx(ac, abs=1e-9)


def test_affine_as_pillow_data_and_box() -> None:
    affine = Affine(0.5, 10.0, 0.5, 20.0)
    assert affine.pillow_data() == (0.5, 0.0, 10.0, 0.0, 0.5, 20.0)
    assert affine.box(100, 60) == (10.0, 20.0, 60.0, 50.0)


def test_source_frame() -> None:
    assert source_frame("reference", 0) == 0
    assert source_frame("continuous", 120) == 119
    with pytest.raises(ValueError, match="continuous"):
        source_frame("continuous", 0)
    with pytest.raises(ValueError, match="motion_offset"):
        source_frame("reference", -1)


@pytest.mark.parametrize("camera", CAMERAS)
def test_reference_chunk_starts_on_the_source_image(camera: Camera) -> None:
    affines = chunk_affines(camera, "reference", 0, 10, W, H, FPS)
    assert len(affines) == 10
    assert affines[0] == IDENTITY
    if camera == "static":
        assert set(affines) == {IDENTITY}
    else:
        assert IDENTITY not in affines[1:]


def test_pan_moves_at_constant_speed_across_the_seam() -> None:
    step = PAN_PER_SECOND * W / FPS
    reference = chunk_affines("pan_left", "reference", 0, 24, W, H, FPS)
    assert [r.c for r in reference] == pytest.approx([-step * j for j in range(24)], abs=1e-9)
    continuous = chunk_affines("pan_left", "continuous", 24, 24, W, H, FPS)
    # The source is frame 23; frame j of this chunk is beat frame 24 + j: one step further per frame.
    assert [c.c for c in continuous] == pytest.approx([-step * (j + 1) for j in range(24)], abs=1e-9)
    assert continuous[0] != IDENTITY


def test_push_in_continuous_chunk_zooms_on_from_the_source() -> None:
    continuous = chunk_affines("push_in", "continuous", 120, 3, W, H, FPS)
    per_frame = ZOOM_PER_SECOND ** (1 / FPS)
    assert [c.a for c in continuous] == pytest.approx([per_frame**-1, per_frame**-2, per_frame**-3], abs=1e-12)
    for c in continuous:  # zoom about the frame's centre
        assert c.c == pytest.approx(W / 2 * (1 - c.a), abs=1e-9)
        assert c.f == pytest.approx(H / 2 * (1 - c.e), abs=1e-9)


def test_static_continuous_chunk_is_identity() -> None:
    assert chunk_affines("static", "continuous", 5, 4, W, H, FPS) == [IDENTITY] * 4


def test_chunk_affines_rejects_negative_frames() -> None:
    with pytest.raises(ValueError):
        chunk_affines("static", "reference", 0, -1, W, H, FPS)


def test_padding_for() -> None:
    assert padding_for([IDENTITY], 100, 50) == (0, 0, 0, 0)
    push = chunk_affines("push_in", "reference", 0, 48, W, H, FPS)
    assert padding_for(push, W, H) == (0, 0, 0, 0)
    pan = chunk_affines("pan_left", "reference", 0, 24, 1000, 500, 24)  # reaches x = -40 * 23 / 24
    assert padding_for(pan, 1000, 500) == (39 + 3, 0, 0, 0)
    right = chunk_affines("pan_right", "reference", 0, 25, 1000, 500, 25)  # reaches x = 1000 + 40 * 24 / 25
    assert padding_for(right, 1000, 500, support=0) == (0, 0, 39, 0)
    pull = chunk_affines("pull_out", "reference", 0, 25, 1000, 500, 24)
    # Frame 24 is 1.03 times wider than the card: 15 px each side, 7.5 px (rounded up) above and below.
    assert padding_for(pull, 1000, 500, support=0) == (15, 8, 15, 8)
