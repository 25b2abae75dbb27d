"""Camera motion for animatic chunks, as small pure functions.

A camera **pose** says which part of the storyboard card a frame shows: the card point `(cx, cy)` at the
frame's centre and the zoom `scale` (1.0 shows the whole card, 2.0 half of it). The pose is a function of
the absolute frame number `n` within the beat, at constant speed, so a beat cut into several chunks moves
on without a jump or a pause at the seams.

Coordinates are continuous pixel coordinates (pixel `i` covers `[i, i + 1)`, its centre at `i + 0.5`),
the convention Pillow's `resize(box=...)` and `transform(AFFINE)` both use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from vidgen_assets.core.generation import Camera, ChunkKind

CAMERAS: tuple[Camera, ...] = ("push_in", "pull_out", "pan_left", "pan_right", "static")
ZOOM_PER_SECOND = 1.03
"""push_in / pull_out: the zoom grows (shrinks) by this factor every second (exponential: constant speed)."""
PAN_PER_SECOND = 0.04
"""pan_left / pan_right: the view moves by this fraction of the frame width every second."""


class Pose(NamedTuple):
    """What one frame shows of the card: zoom and the card point at the frame's centre."""

    scale: float
    cx: float
    cy: float


class Affine(NamedTuple):
    """An axis-aligned map from output pixel coordinates to source pixel coordinates.

    `x_src = a * x + c`, `y_src = e * y + f`: Pillow's AFFINE data `(a, 0, c, 0, e, f)`.
    """

    a: float
    c: float
    e: float
    f: float

    def pillow_data(self) -> tuple[float, float, float, float, float, float]:
        """The six coefficients `Image.transform(..., Image.Transform.AFFINE, data)` takes."""
        return (self.a, 0.0, self.c, 0.0, self.e, self.f)

    def box(self, width: int, height: int) -> tuple[float, float, float, float]:
        """The source rectangle a `width` x `height` output frame shows (for `Image.resize(box=...)`)."""
        return (self.c, self.f, self.c + self.a * width, self.f + self.e * height)


IDENTITY = Affine(1.0, 0.0, 1.0, 0.0)


def pose(camera: Camera, n: int, width: int, height: int, fps: int) -> Pose:
    """The camera pose at absolute frame `n` of a beat. Frame 0 shows the whole card (the identity)."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    seconds = n / fps
    centre_x, centre_y = width / 2, height / 2
    if camera == "static":
        return Pose(1.0, centre_x, centre_y)
    if camera == "push_in":
        return Pose(ZOOM_PER_SECOND**seconds, centre_x, centre_y)
    if camera == "pull_out":
        return Pose(ZOOM_PER_SECOND**-seconds, centre_x, centre_y)
    if camera == "pan_left":
        return Pose(1.0, centre_x - PAN_PER_SECOND * width * seconds, centre_y)
    if camera == "pan_right":
        return Pose(1.0, centre_x + PAN_PER_SECOND * width * seconds, centre_y)
    raise ValueError(f"unknown camera move {camera!r}; expected one of {', '.join(CAMERAS)}")


def relative_affine(source: Pose, target: Pose, width: int, height: int) -> Affine:
    """Map a frame at pose `target` to pixels of an image that shows the card at pose `source`.

    A frame at pose P shows card point `P.c + (x - W/2) / P.scale` at output pixel `x`; inverting the
    source pose and composing gives `x_src = W/2 + s_src * (c_tgt - c_src) + (s_src / s_tgt) * (x - W/2)`.
    """
    ratio = source.scale / target.scale
    c = width / 2 + source.scale * (target.cx - source.cx) - ratio * width / 2
    f = height / 2 + source.scale * (target.cy - source.cy) - ratio * height / 2
    return Affine(ratio, c, ratio, f)


def source_frame(kind: ChunkKind, motion_offset: int) -> int:
    """The beat frame the chunk's source shows: the card (frame 0) or the previous chunk's last frame."""
    if motion_offset < 0:
        raise ValueError(f"motion_offset must be >= 0, got {motion_offset}")
    if kind == "reference":
        return 0
    if motion_offset == 0:
        raise ValueError("a continuous chunk needs motion_offset >= 1 (frames of the beat before it)")
    return motion_offset - 1


def chunk_affines(
    camera: Camera, kind: ChunkKind, motion_offset: int, frames: int, width: int, height: int, fps: int
) -> list[Affine]:
    """One affine per output frame `j`: the source image resampled from its pose to pose `motion_offset + j`.

    A reference chunk's source is the card itself (pose 0), so with `motion_offset=0` its frame 0 is the
    identity. A continuous chunk's source is the previous chunk's last frame (pose `motion_offset - 1`), so
    its first frame already moves on and no frame is repeated at the seam.
    """
    if frames < 0:
        raise ValueError(f"frames must be >= 0, got {frames}")
    base = pose(camera, source_frame(kind, motion_offset), width, height, fps)
    out = []
    for j in range(frames):
        affine = relative_affine(base, pose(camera, motion_offset + j, width, height, fps), width, height)
        out.append(IDENTITY if _is_identity(affine) else affine)
    return out


def padding_for(affines: Sequence[Affine], width: int, height: int, support: int = 3) -> tuple[int, int, int, int]:
    """Pixels (left, top, right, bottom) to add around the source so that every affine samples inside it.

    `support` covers the resampling filter's reach past the sampled rectangle.
    """
    left = top = right = bottom = 0
    for affine in affines:
        x0, y0, x1, y1 = affine.box(width, height)
        left = max(left, math.ceil(-x0) + support if x0 < 0 else 0)
        top = max(top, math.ceil(-y0) + support if y0 < 0 else 0)
        right = max(right, math.ceil(x1 - width) + support if x1 > width else 0)
        bottom = max(bottom, math.ceil(y1 - height) + support if y1 > height else 0)
    return left, top, right, bottom


def _is_identity(affine: Affine, eps: float = 1e-9) -> bool:
    return abs(affine.a - 1.0) < eps and abs(affine.e - 1.0) < eps and abs(affine.c) < eps and abs(affine.f) < eps
