"""Camera moves planned over a beat's whole clip: every view inside the card, constant speed, bounded."""

from __future__ import annotations

import itertools
import math

import pytest

from vidgen_assets.backends.camera_motion import (
    CAMERAS,
    MAX_PAN,
    MAX_ZOOM,
    PAN_PER_SECOND,
    ZOOM_PER_SECOND,
    Move,
    View,
    card_size,
    start_window,
)
from vidgen_assets.core.generation import Camera

W, H, FPS = 320, 180, 24


def views(move: Move) -> list[View]:
    return [move.view(n) for n in range(move.clip_frames)]


def inside(move: Move, view: View) -> bool:
    """The frame-sized window lies within the card, scaled no smaller than the card (a pull_out: no
    smaller than the frame times the card's shape)."""
    card_w, card_h = move.card_size
    smallest = (card_w / MAX_ZOOM, card_h / MAX_ZOOM) if move.camera == "pull_out" else (card_w, card_h)
    return (
        view.scaled_width >= smallest[0] - 1
        and view.scaled_height >= smallest[1] - 1
        and 0 <= view.x <= view.scaled_width - move.width
        and 0 <= view.y <= view.scaled_height - move.height
    )


def test_constants_are_the_documented_speeds() -> None:
    assert (ZOOM_PER_SECOND, PAN_PER_SECOND, MAX_ZOOM, MAX_PAN) == (1.03, 0.04, 1.5, 0.5)
    assert CAMERAS == ("push_in", "pull_out", "pan_left", "pan_right", "static")


@pytest.mark.parametrize("camera", CAMERAS)
@pytest.mark.parametrize(
    ("width", "height", "fps", "clip"),
    [(W, H, FPS, 1), (W, H, FPS, 2), (W, H, FPS, 78), (1080, 1920, 30, 480), (1920, 1080, 25, 7500), (2, 2, 24, 9)],
)
def test_every_view_stays_inside_the_card(camera: Camera, width: int, height: int, fps: int, clip: int) -> None:
    move = Move(camera, width, height, fps, clip)
    assert all(inside(move, view) for view in views(move))


def test_pull_out_starts_on_the_middle_of_a_larger_card_and_zooms_out_over_it() -> None:
    """Its first frame is the frame-sized middle of a card drawn MAX_ZOOM larger, at zoom 1 (the window
    the animatic stores as the storyboard image), whatever the clip's length."""
    move = Move("pull_out", W, H, FPS, 72)
    assert move.card_size == (480, 272) == card_size("pull_out", W, H)
    first, last = move.view(0), move.view(71)
    assert first == View(480, 272, 80, 46) and (first.x, first.y) == start_window("pull_out", W, H)
    assert move.zoom == pytest.approx(ZOOM_PER_SECOND ** (71 / FPS))
    assert last.scaled_width == 2 * round(480 / 2 / move.zoom)
    assert last.x == (last.scaled_width - W) // 2  # centred
    widths = [v.scaled_width for v in views(move)]
    assert widths == sorted(widths, reverse=True)
    assert Move("pull_out", W, H, FPS, 500).view(0) == first  # the same first frame for any length


def test_push_in_starts_on_the_whole_card() -> None:
    move = Move("push_in", W, H, FPS, 72)
    assert move.view(0) == View(W, H, 0, 0)
    assert move.view(71).scaled_width == 2 * round(W / 2 * move.zoom)


def test_zoom_is_at_constant_speed() -> None:
    """The same zoom factor every frame: the scale after n frames is zoom ** (n / steps)."""
    move = Move("push_in", 1920, 1080, 30, 450)
    for n in (0, 1, 100, 224, 449):
        assert move.view(n).scaled_width == pytest.approx(1920 * move.zoom ** (n / 449), abs=2)


@pytest.mark.parametrize("camera", ["pan_left", "pan_right"])
def test_pan_travels_across_a_wider_card_at_constant_speed(camera: Camera) -> None:
    move = Move(camera, W, H, FPS, 78)
    travel = move.pan_px
    assert travel == 2 * math.ceil(PAN_PER_SECOND * 77 / FPS * W / 2)
    assert move.card_size == (W + W * MAX_PAN, H)  # drawn for the longest pan, whatever this one's length
    xs = [v.x for v in views(move)]
    far = int(W * MAX_PAN)
    start, end = (0, travel) if camera == "pan_right" else (far, far - travel)
    assert (xs[0], 0) == start_window(camera, W, H)
    assert (xs[0], xs[-1]) == (start, end)
    steps = {abs(b - a) for a, b in itertools.pairwise(xs)}
    assert steps <= {math.floor(travel / 77), math.ceil(travel / 77)}  # never a pause, never a jump
    for n in (10, 40, 77):  # where frame n is: n steps of the same speed, rounded
        assert abs(xs[n] - start) == math.floor(travel / 77 * n + 0.5)


def test_moves_are_bounded_on_long_beats() -> None:
    five_minutes = 300 * 30
    assert Move("pull_out", 1080, 1920, 30, five_minutes).zoom == MAX_ZOOM
    assert Move("push_in", 1080, 1920, 30, five_minutes).view(five_minutes - 1).scaled_width <= 1080 * MAX_ZOOM + 2
    pan = Move("pan_right", 1080, 1920, 30, five_minutes)
    assert pan.pan_px == 1080 * MAX_PAN
    assert pan.card_size == (1620, 1920)


def test_static_shows_the_whole_card_and_one_frame_clips_their_start_window() -> None:
    assert views(Move("static", W, H, FPS, 30)) == [View(W, H, 0, 0)] * 30
    for camera in CAMERAS:
        move = Move(camera, W, H, FPS, 1)
        assert move.view(0) == View(*move.card_size, *move.start_window)


def test_filters_name_the_same_arithmetic() -> None:
    assert Move("static", W, H, FPS, 10).filters(0) == []
    pan = Move("pan_left", W, H, FPS, 49)
    speed = pan.pan_px / 48
    assert pan.filters(24) == [
        (
            "crop",
            {"w": W, "h": H, "x": f"160-floor({speed!r}*(floor(t*{FPS}+0.5)+24)+0.5)", "y": 0, "exact": 1},
        )
    ]
    (scale_name, scale), (crop_name, crop) = Move("pull_out", W, H, FPS, 49).filters(0)
    assert (scale_name, crop_name) == ("scale", "crop")
    assert str(scale["h"]).startswith("2*floor(136*exp(-") and scale["eval"] == "frame"
    assert (crop["w"], crop["h"]) == (W, H) and str(crop["x"]).startswith("floor(240*exp(-")


def test_bad_moves_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown camera"):
        Move("dolly", W, H, FPS, 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="clip_frames"):
        Move("static", W, H, FPS, 0)
    with pytest.raises(ValueError, match="even"):
        Move("static", 321, H, FPS, 10)
    with pytest.raises(ValueError, match="outside"):
        Move("static", W, H, FPS, 10).view(10)
    with pytest.raises(ValueError, match="first"):
        Move("static", W, H, FPS, 10).filters(-1)
