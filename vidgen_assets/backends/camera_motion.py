"""Camera moves for animatic chunks, planned over a beat's whole clip, as small pure functions.

A `Move` is planned once per beat, over the beat's whole clip (`clip_frames`, the beat plus the transition
it plays into the next), so that every frame of every chunk shows only the storyboard card:

- `push_in` starts on the whole card and zooms in towards its centre;
- `pull_out` starts on the frame-sized middle of a card drawn `MAX_ZOOM` times larger (`card_size`) and
  zooms out over it;
- `pan_left` / `pan_right` travel across a card drawn `MAX_PAN` wider than the frame, from one end
  towards the other, at zoom 1;
- `static` shows the card as it is.

Every move's first frame is the window `start_window` of its card, at zoom 1 (the whole card for
push_in and static): the animatic's storyboard image is that window, so every beat's clip starts on its
storyboard image exactly as drawn (as a video model's clip starts on its start image), and a bridge
that ends on the storyboard image lands where the beat's own clip begins. The card's size does not
depend on the clip's length, so the storyboard can be drawn before the clip is planned.

Every move runs at constant speed (a constant zoom factor, or a constant number of pixels, per frame), so
a beat cut into chunks moves on at the seams without a jump or a pause, and the frame a continuous chunk
starts from (the previous chunk's last frame) is by construction the view of frame `motion_offset - 1`.
A move is bounded (`MAX_ZOOM`, `MAX_PAN`): a long beat moves more slowly, never further.

A frame's `View` is integer: the card scaled to `scaled_width` x `scaled_height`, then the frame-sized
window at (`x`, `y`) cut out of it. `filters` expresses the same views as ffmpeg filters (`scale` with
per-frame evaluation, then `crop`), computed with the same arithmetic, so that ffmpeg draws the frames
from one still and `view` says what each of them shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vidgen_assets.core.generation import Camera

CAMERAS: tuple[Camera, ...] = ("push_in", "pull_out", "pan_left", "pan_right", "static")
ZOOM_PER_SECOND = 1.03
"""push_in / pull_out: the zoom grows (shrinks) by this factor every second (exponential: constant speed)."""
PAN_PER_SECOND = 0.04
"""pan_left / pan_right: the view moves by this fraction of the frame width every second."""
MAX_ZOOM = 1.5
"""The most a push_in or pull_out zooms over a whole clip (a longer beat zooms more slowly)."""
MAX_PAN = 0.5
"""The furthest a pan travels over a whole clip, as a fraction of the frame width: the card is drawn at
most this much wider than the frame (a longer beat pans more slowly)."""


@dataclass(frozen=True)
class View:
    """What one frame shows: the card scaled to `scaled_width` x `scaled_height`, cut at (`x`, `y`)."""

    scaled_width: int
    scaled_height: int
    x: int
    y: int


@dataclass(frozen=True)
class Move:
    """A beat's camera move over its whole clip of `clip_frames` frames at `width` x `height`."""

    camera: Camera
    width: int
    height: int
    fps: int
    clip_frames: int

    def __post_init__(self) -> None:
        if self.camera not in CAMERAS:
            raise ValueError(f"unknown camera move {self.camera!r}; expected one of {', '.join(CAMERAS)}")
        if self.fps <= 0 or self.clip_frames <= 0:
            raise ValueError(f"a move needs fps > 0 and clip_frames > 0, got {self.fps}, {self.clip_frames}")
        if self.width <= 0 or self.height <= 0 or self.width % 2 or self.height % 2:
            raise ValueError(f"a move needs an even, positive frame size, got {self.width}x{self.height}")

    @property
    def steps(self) -> int:
        """Frame steps from the clip's first frame to its last."""
        return self.clip_frames - 1

    @property
    def zoom(self) -> float:
        """The zoom factor between the clip's widest and closest frames (1.0 for pans and static)."""
        if self.camera not in ("push_in", "pull_out"):
            return 1.0
        return min(float(ZOOM_PER_SECOND ** (self.steps / self.fps)), MAX_ZOOM)

    @property
    def pan_px(self) -> int:
        """How many pixels a pan travels over the clip (even; 0 for the other moves)."""
        if self.camera not in ("pan_left", "pan_right"):
            return 0
        travel = min(PAN_PER_SECOND * self.steps / self.fps, MAX_PAN) * self.width
        return 2 * math.ceil(travel / 2)

    @property
    def card_size(self) -> tuple[int, int]:
        """The size the card is drawn at (`card_size`)."""
        return card_size(self.camera, self.width, self.height)

    @property
    def start_window(self) -> tuple[int, int]:
        """Where the first frame's window sits on the card (`start_window`)."""
        return start_window(self.camera, self.width, self.height)

    @property
    def _rate(self) -> float:
        """ln(zoom) per frame step."""
        return math.log(self.zoom) / self.steps if self.steps else 0.0

    @property
    def _speed(self) -> float:
        """Pixels per frame step of a pan."""
        return self.pan_px / self.steps if self.steps else 0.0

    def view(self, n: int) -> View:
        """The view of frame `n` of the clip (0 <= n < clip_frames)."""
        if not 0 <= n < self.clip_frames:
            raise ValueError(f"frame {n} is outside the clip's {self.clip_frames} frames")
        card_w, card_h = self.card_size
        if self.camera in ("push_in", "pull_out"):
            # push_in: the frame-sized card scaled up; pull_out: the larger card scaled down.
            factor = math.exp(self._rate * n if self.camera == "push_in" else -self._rate * n)
            half_w = math.floor(card_w // 2 * factor + 0.5)
            half_h = math.floor(card_h // 2 * factor + 0.5)
            return View(2 * half_w, 2 * half_h, half_w - self.width // 2, half_h - self.height // 2)
        if self.camera in ("pan_left", "pan_right"):
            travelled = math.floor(self._speed * n + 0.5)
            x = travelled if self.camera == "pan_right" else card_w - self.width - travelled
            return View(card_w, card_h, x, 0)
        return View(card_w, card_h, 0, 0)

    def filters(self, first: int) -> list[tuple[str, dict[str, str | int]]]:
        """ffmpeg filters (name, options) that turn a stream of the card (at `card_size`, one frame per output
        frame at `fps`, timestamps from 0) into the views of frames `first`, `first + 1`, ...: `view`'s
        arithmetic, evaluated per frame. The frame number comes from the timestamp (`scale` counts its
        frames from 1 when it evaluates per frame, `crop` from 0). `media.commands.still_motion` adds them
        to its graph (ffmpeg-python escapes the expressions)."""
        if first < 0:
            raise ValueError(f"first must be >= 0, got {first}")
        frame = f"(floor(t*{self.fps}+0.5)+{first})"
        card_w, card_h = self.card_size
        if self.camera in ("push_in", "pull_out"):
            rate = self._rate if self.camera == "push_in" else -self._rate
            factor = f"exp({rate!r}*{frame})"
            half_w = f"floor({card_w // 2}*{factor}+0.5)"
            half_h = f"floor({card_h // 2}*{factor}+0.5)"
            return [
                ("scale", {"w": f"2*{half_w}", "h": f"2*{half_h}", "eval": "frame", "flags": "bicubic"}),
                ("crop", {"w": self.width, "h": self.height, "x": f"{half_w}-{self.width // 2}",
                          "y": f"{half_h}-{self.height // 2}", "exact": 1}),
            ]  # fmt: skip
        if self.camera in ("pan_left", "pan_right"):
            travelled = f"floor({self._speed!r}*{frame}+0.5)"
            x = travelled if self.camera == "pan_right" else f"{card_w - self.width}-{travelled}"
            return [("crop", {"w": self.width, "h": self.height, "x": x, "y": 0, "exact": 1})]
        return []


def card_size(camera: Camera, width: int, height: int) -> tuple[int, int]:
    """The size a `width` x `height` frame's card is drawn at for `camera`, whatever the clip's length:
    `MAX_PAN` wider for a pan (a pan travels at most that far), `MAX_ZOOM` larger both ways for a
    pull_out (it zooms out at most that much), the frame for the others (even sizes; a pull_out's
    start window at even offsets)."""
    if camera in ("pan_left", "pan_right"):
        return width + 2 * math.ceil(width * MAX_PAN / 2), height
    if camera == "pull_out":  # the margins around the start window even too (4:2:0 chroma stays aligned)
        return width + 4 * math.ceil(width * (MAX_ZOOM - 1) / 4), height + 4 * math.ceil(height * (MAX_ZOOM - 1) / 4)
    return width, height


def start_window(camera: Camera, width: int, height: int) -> tuple[int, int]:
    """Where (x, y) the frame-sized window a move starts on sits on its card: the left end for
    pan_right, the right end for pan_left, the middle for pull_out, the corner (the whole card) else.
    The animatic draws the card's texts in that window and stores the window as the storyboard image."""
    card_w, card_h = card_size(camera, width, height)
    if camera == "pan_left":
        return card_w - width, 0
    if camera == "pull_out":
        return (card_w - width) // 2, (card_h - height) // 2
    return 0, 0
