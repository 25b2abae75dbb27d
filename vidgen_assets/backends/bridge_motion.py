"""The animatic's bridge: a camera move out of one frame and into the next, drawn locally.

Not a dissolve: the outgoing frame is pushed in and panned away while the incoming frame arrives from the
other side, zoomed in and panning the same way, settling on its own framing; a soft-edged front sweeps
across the picture from the direction of travel, showing the incoming frame behind it. Frame 0 is the
outgoing frame exactly (where the beat before ended) and the last frame is the incoming storyboard image
exactly (where the next beat starts), so both seams are invisible.

The moves stay inside each picture (a zoom of z leaves room to pan (z - 1) / 2 of the width), so no pixel
is invented. Every frame is an axis-aligned affine resample (`Image.resize(box=...)`), sub-pixel exact.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from PIL import Image

PUSH = 0.35
"""How far the outgoing frame zooms in by the end (and the incoming one zooms out from)."""
FRONT = 0.35
"""The width of the front's soft edge, as a fraction of the picture."""
RESAMPLE = Image.Resampling.BICUBIC


def ease(t: float) -> float:
    """Smoothstep: starts and ends at rest."""
    return t * t * (3 - 2 * t)


def view(image: Image.Image, zoom: float, pan: float) -> Image.Image:
    """`image` zoomed by `zoom` (>= 1) about its centre and panned by `pan` in [-1, 1] of the room the zoom
    leaves (negative: the picture moves left)."""
    width, height = image.size
    if zoom <= 1.0 and pan == 0:
        return image
    w, h = width / zoom, height / zoom
    room = (width - w) / 2
    x0 = (width - w) / 2 - pan * room
    y0 = (height - h) / 2
    return image.resize((width, height), RESAMPLE, box=(x0, y0, x0 + w, y0 + h))


def bridge_frames(start: Image.Image, end: Image.Image, frames: int) -> Iterator[np.ndarray]:
    """`frames` RGB frames (uint8, height x width x 3) from `start` to `end`, both the same size."""
    if start.size != end.size:
        raise ValueError(f"bridge frames differ in size: {start.size} and {end.size}")
    if frames < 1:
        raise ValueError(f"a bridge needs at least one frame, got {frames}")
    width = start.width
    x = (np.arange(width, dtype=np.float32) + 0.5) / width
    for n in range(frames):
        t = ease(n / (frames - 1)) if frames > 1 else 1.0
        outgoing = np.asarray(view(start, 1 + PUSH * t, -t), dtype=np.float32)
        incoming = np.asarray(view(end, 1 + PUSH * (1 - t), 1 - t), dtype=np.float32)
        # The front sweeps right to left: 0 shows the outgoing frame, 1 the incoming one.
        edge = (1 + FRONT) * (1 - t) - FRONT
        mask = np.clip((x - edge) / FRONT, 0.0, 1.0)[None, :, None]
        if t >= 1.0:
            mask = np.ones_like(mask)
        yield (outgoing * (1 - mask) + incoming * mask).round().astype(np.uint8)
