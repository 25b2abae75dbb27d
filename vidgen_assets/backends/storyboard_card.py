"""Storyboard cards: one PNG per beat, drawn with Pillow.

A card shows a simple composition in the style's palette (a gradient sky, a horizon with a perspective
floor, a subject on a third, grid marks) so that camera motion is visible when the card is animated, plus
the beat's number, name, timecode range, prompt, camera move and aesthetic. The layout differs for
landscape, portrait and square frames. Every text is sanitised, wrapped and truncated: no prompt can
crash the renderer or overflow the card. The seed moves small details only, deterministically.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from vidgen_assets.backends.reference_composite import Box, composite_references
from vidgen_assets.core.generation import Camera, ImageRequest
from vidgen_assets.core.text import fit, one_line, wrap
from vidgen_assets.media.fonts import Font, load_font, text_width

RGB = tuple[int, int, int]
Layout = Literal["landscape", "portrait", "square"]

DEFAULT_PALETTE: tuple[str, ...] = ("#1d2b3a", "#3f6e74", "#e0b36a", "#f4efe6")
CAMERA_LABELS: dict[str, str] = {
    "push_in": "push in",
    "pull_out": "pull out",
    "pan_left": "pan left",
    "pan_right": "pan right",
    "static": "static",
}


# ---------------------------------------------------------------------------------------------- pure helpers


def parse_colour(text: str) -> RGB | None:
    """`#rgb`, `#rrggbb` or `#rrggbbaa` (the `#` optional) as an RGB triple; None when unreadable."""
    digits = text.strip().lstrip("#")
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    if len(digits) == 8:
        digits = digits[:6]
    if len(digits) != 6:
        return None
    try:
        value = int(digits, 16)
    except ValueError:
        return None
    return ((value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF)


def palette_colours(palette: tuple[str, ...]) -> list[RGB]:
    """The readable colours of `palette` (at least two), falling back on `DEFAULT_PALETTE`."""
    colours = [c for c in (parse_colour(p) for p in palette) if c is not None]
    if not colours:
        colours = [c for c in (parse_colour(p) for p in DEFAULT_PALETTE) if c is not None]
    if len(colours) == 1:
        only = colours[0]
        colours.append(_mix(only, (255, 255, 255) if _luma(only) < 128 else (0, 0, 0), 0.45))
    return colours


def timecode(frame: int, fps: int) -> str:
    """`MM:SS.hh` (hundredths rounded half up) of frame `frame` at `fps`."""
    hundredths = (2 * frame * 100 + fps) // (2 * fps)
    minutes, rest = divmod(hundredths, 6000)
    return f"{minutes:02d}:{rest // 100:02d}.{rest % 100:02d}"


def card_rng(request: ImageRequest) -> np.random.Generator:
    """The random source for a card's small details: a function of the beat (its index, name and prompt)
    and the seed only, never of the video, so that a variant draws exactly the card its base draws for
    the same beat."""
    key = f"{request.beat_index}\x1f{request.beat_name}\x1f{request.prompt}\x1f{request.seed}".encode(
        "utf-8", "replace"
    )
    return np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def layout_of(width: int, height: int) -> Layout:
    """Landscape when clearly wider than tall, portrait when clearly taller, square otherwise."""
    if width >= height * 1.15:
        return "landscape"
    if height >= width * 1.15:
        return "portrait"
    return "square"


# -------------------------------------------------------------------------------------------------- drawing


@dataclass(frozen=True)
class _Geometry:
    width: int
    height: int
    layout: Layout
    short: int
    margin: int
    text_left: int
    """Where the frame-wide text block starts (0 unless the card is drawn wider than the frame)."""
    text_width: int
    """The width the texts are laid out in: the frame's."""
    text_top: int = 0
    """Where the frame-high text block starts (0 unless the card is drawn taller than the frame)."""
    text_height: int = 0
    """The height the texts are laid out in: the frame's (0: the card's)."""


def render_card(
    request: ImageRequest, size: tuple[int, int] | None = None, text_left: int = 0, text_top: int = 0
) -> Image.Image:
    """The storyboard card for one beat, as an RGB image of `size` (default: `request.frame`'s size).

    A card drawn larger than the frame (the canvas a pan travels across, or a pull_out zooms out over)
    keeps the frame's layout, sizes and text block: the background, the floor and the bands span the
    whole canvas, and the texts, the horizon, the sun and the subject are placed in the frame-sized window
    at (`text_left`, `text_top`) as on a frame-sized card, so that the view that starts the move shows a
    whole card.
    """
    frame_w, frame_h = request.frame.width, request.frame.height
    width, height = size or (frame_w, frame_h)
    if min(width, height, frame_w, frame_h) <= 0:
        raise ValueError(f"card size must be positive, got {width}x{height} for a {frame_w}x{frame_h} frame")
    short = min(frame_w, frame_h)
    text_width = min(frame_w, width)
    text_left = max(0, min(text_left, width - text_width))
    text_height = min(frame_h, height)
    text_top = max(0, min(text_top, height - text_height))
    geo = _Geometry(
        width, height, layout_of(frame_w, frame_h), short, max(4, round(short * 0.045)), text_left, text_width,
        text_top, text_height,
    )  # fmt: skip
    colours = palette_colours(request.palette)
    rng = card_rng(request)

    image = Image.fromarray(_background(geo, colours, rng), "RGB").convert("RGBA")
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    horizon, subject = _draw_scene(draw, geo, colours, rng, figure=not request.references)
    _draw_grid_marks(draw, geo, horizon)
    image = Image.alpha_composite(image, overlay)
    image = composite_references(image, request.references, subject, geo.short)

    text_layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    _draw_text(ImageDraw.Draw(text_layer), geo, request)
    return Image.alpha_composite(image, text_layer).convert("RGB")


def _background(geo: _Geometry, colours: list[RGB], rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """A diagonal gradient through the palette's first three colours (sky) above the horizon."""
    stops = np.array(colours[: min(3, len(colours))], dtype=np.float32)
    tilt = 0.2 + 0.15 * float(rng.random())
    ys = np.linspace(0.0, 1.0, geo.height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, geo.width, dtype=np.float32)[None, :]
    t = np.clip(ys * (1 - tilt) + xs * tilt, 0.0, 1.0) * (len(stops) - 1)
    low = np.floor(t).astype(np.int64)
    high = np.minimum(low + 1, len(stops) - 1)
    frac = (t - low)[..., None]
    pixels = stops[low] * (1 - frac) + stops[high] * frac
    return np.asarray(np.clip(np.rint(pixels), 0, 255), dtype=np.uint8)


def _draw_scene(
    draw: ImageDraw.ImageDraw, geo: _Geometry, colours: list[RGB], rng: np.random.Generator, figure: bool = True
) -> tuple[int, Box]:
    """Ground with perspective lines, a sun, and the subject on a third (a figure, unless `figure` is off:
    the beat's references stand there instead). Returns the horizon's y and the subject's box."""
    w, h = geo.width, geo.height
    # Placed in the window a move starts on (the whole card unless it is drawn larger than the frame).
    left, top, view_w, view_h = geo.text_left, geo.text_top, geo.text_width, geo.text_height or h
    horizon_share = {"landscape": 0.62, "portrait": 0.6, "square": 0.6}[geo.layout]
    horizon = top + round(view_h * (horizon_share + float(rng.uniform(-0.03, 0.03))))
    ground = _mix(colours[0], (0, 0, 0), 0.35)
    draw.rectangle((0, horizon, w, h), fill=(*ground, 150))
    draw.line((0, horizon, w, horizon), fill=(255, 255, 255, 110), width=max(1, geo.short // 180))

    if geo.layout == "portrait":
        subject_x = left + round(view_w * (0.5 + float(rng.uniform(-0.06, 0.06))))
        sun_x = left + round(view_w * float(rng.choice([0.25, 0.75])))
        sun_y = top + round(view_h * 0.2)
    else:
        third = float(rng.choice([1 / 3, 2 / 3]))
        subject_x = left + round(view_w * third)
        sun_x = left + round(view_w * (1 - third))
        sun_y = top + round((horizon - top) * 0.45)

    # Perspective floor lines from a vanishing point on the horizon above the subject.
    spacing = max(8, w // 10)
    line_width = max(1, geo.short // 240)
    for foot in range(-w, 2 * w + 1, spacing):
        draw.line((subject_x, horizon, foot, h), fill=(255, 255, 255, 45), width=line_width)
    depth = 1.0
    while True:
        depth *= 0.62
        y = round(h - (h - horizon) * (1 - depth))
        if y - horizon < max(3, (h - horizon) // 12):
            break
        draw.line((0, y, w, y), fill=(255, 255, 255, 35), width=line_width)

    accent = _most_contrasting(colours, colours[0])
    sun_r = round(geo.short * 0.07)
    draw.ellipse(
        (sun_x - sun_r, sun_y - sun_r, sun_x + sun_r, sun_y + sun_r),
        fill=(*_mix(accent, (255,) * 3, 0.5), 170),
    )

    # The subject: a rounded body with a head, standing on the horizon, with a shadow.
    body_h = round(geo.short * (0.34 if geo.layout == "portrait" else 0.3))
    body_w = round(body_h * 0.42)
    base = horizon + round(geo.short * 0.04)
    shadow_w = round(body_w * 1.3)
    draw.ellipse(
        (subject_x - shadow_w, base - body_w // 5, subject_x + shadow_w, base + body_w // 5),
        fill=(0, 0, 0, 90),
    )
    top = base - body_h
    head_r = round(body_w * 0.42)
    subject = (subject_x - body_w // 2, top - 2 * head_r - 2, subject_x + body_w // 2, base)
    if not figure:
        return horizon, subject
    draw.rounded_rectangle(
        (subject_x - body_w // 2, top, subject_x + body_w // 2, base),
        radius=max(1, body_w // 3),
        fill=(*accent, 235),
    )
    draw.ellipse(
        (subject_x - head_r, top - 2 * head_r - 2, subject_x + head_r, top - 2),
        fill=(*_mix(accent, (255,) * 3, 0.25), 245),
    )
    return horizon, subject


def _draw_grid_marks(draw: ImageDraw.ImageDraw, geo: _Geometry, horizon: int) -> None:
    """Small crosses on a regular grid and faint thirds: they make every camera move easy to read."""
    step = max(6, geo.short // 6)
    arm = max(2, geo.short // 90)
    width = max(1, geo.short // 360)
    for y in range(step // 2, geo.height, step):
        for x in range(step // 2, geo.width, step):
            colour = (255, 255, 255, 70) if y < horizon else (255, 255, 255, 50)
            draw.line((x - arm, y, x + arm, y), fill=colour, width=width)
            draw.line((x, y - arm, x, y + arm), fill=colour, width=width)
    for k in (1, 2):
        x = round(geo.width * k / 3)
        y = round(geo.height * k / 3)
        for start in range(0, geo.height, 2 * arm * 2):
            draw.line((x, start, x, start + 2 * arm), fill=(255, 255, 255, 40), width=width)
        for start in range(0, geo.width, 2 * arm * 2):
            draw.line((start, y, start + 2 * arm, y), fill=(255, 255, 255, 40), width=width)


def _draw_text(draw: ImageDraw.ImageDraw, geo: _Geometry, request: ImageRequest) -> None:
    """Header (number, name, timecode) at the top; prompt and camera/aesthetic in a panel at the bottom
    (under the header when the beat's caption is burnt in)."""
    full_w, m = geo.width, geo.margin
    w, left, top = geo.text_width, geo.text_left, geo.text_top
    h = top + (geo.text_height or geo.height)
    title_font = load_font(max(8, round(geo.short * 0.06)), bold=True)
    body_font = load_font(max(7, round(geo.short * 0.042)))
    small_font = load_font(max(6, round(geo.short * 0.034)))
    title_w, body_w, small_w = (partial(text_width, f) for f in (title_font, body_font, small_font))
    line_w = w - 2 * m

    count = max(request.beat_count, request.beat_index + 1, 1)
    digits = max(2, len(str(count)))
    number = f"{request.beat_index + 1:0{digits}d} / {count:0{digits}d}"
    name = one_line(request.beat_name.replace("_", " ")).upper() or "BEAT"
    fps = request.frame.fps
    timing = f"{timecode(request.start_frame, fps)} – {timecode(request.end_frame, fps)}"

    title_h = _line_height(title_font)
    body_h = _line_height(body_font)
    small_h = _line_height(small_font)
    gap = max(2, round(geo.short * 0.012))

    # Header band.
    two_rows = geo.layout != "landscape"
    header_h = m + title_h + (gap + small_h if two_rows else 0) + m // 2
    draw.rectangle((0, top, full_w, top + header_h), fill=(0, 0, 0, 120))
    number_w = title_w(number + "   ")
    _text(draw, (left + m, top + m), number, title_font, (255, 255, 255, 255))
    if two_rows:
        name_line = fit(name, title_w, line_w - number_w)
        _text(draw, (left + m + number_w, top + m), name_line, title_font, (255,) * 4)
        _text(draw, (left + m, top + m + title_h + gap), timing, small_font, (230, 230, 230, 255))
    else:
        timing_w = small_w(timing)
        room = line_w - number_w - timing_w - m
        _text(draw, (left + m + number_w, top + m), fit(name, title_w, room), title_font, (255,) * 4)
        timing_xy = (left + w - m - timing_w, top + m + (title_h - small_h) // 2)
        _text(draw, timing_xy, timing, small_font, (230, 230, 230, 255))

    # Bottom panel: prompt, then camera move and aesthetic.
    max_lines = {"landscape": 3, "portrait": 6, "square": 4}[geo.layout]
    prompt_lines = wrap(one_line(request.prompt), body_w, line_w, max_lines)
    footer = "camera: " + CAMERA_LABELS.get(request.camera, one_line(str(request.camera)))
    aesthetic = one_line(request.aesthetic)
    if aesthetic:
        footer += " · " + aesthetic
    icon = small_h
    footer_line = fit(footer, small_w, line_w - icon - gap)
    panel_h = m // 2 + len(prompt_lines) * (body_h + gap) + small_h + m
    # Under the header when the beat's caption is burnt in at the bottom (it would sit on the panel).
    panel_top = top + header_h if request.captions_burnt else h - panel_h
    h = panel_top + panel_h
    draw.rectangle((0, panel_top, full_w, h), fill=(0, 0, 0, 135))
    y = panel_top + m // 2
    for line in prompt_lines:
        _text(draw, (left + m, y), line, body_font, (255, 255, 255, 255))
        y += body_h + gap
    _draw_camera_icon(draw, request.camera, (left + m, y, left + m + icon, y + icon))
    _text(draw, (left + m + icon + gap, y), footer_line, small_font, (225, 225, 225, 255))


def _draw_camera_icon(draw: ImageDraw.ImageDraw, camera: Camera, box: tuple[int, int, int, int]) -> None:
    """A tiny pictogram of the move: arrows in or out, left or right, or a still square."""
    x0, y0, x1, y1 = box
    size = max(4, x1 - x0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    colour = (255, 210, 120, 255)
    width = max(1, size // 8)
    r = size * 0.42
    if camera in ("push_in", "pull_out"):
        draw.rectangle((cx - r, cy - r, cx + r, cy + r), outline=colour, width=width)
        inner = r * 0.45
        for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            outer_pt = (cx + sx * r, cy + sy * r)
            inner_pt = (cx + sx * inner, cy + sy * inner)
            start, end = (outer_pt, inner_pt) if camera == "push_in" else (inner_pt, outer_pt)
            draw.line((*start, *end), fill=colour, width=width)
    elif camera in ("pan_left", "pan_right"):
        sign = -1 if camera == "pan_left" else 1
        draw.line((cx - sign * r, cy, cx + sign * r, cy), fill=colour, width=width)
        tip = cx + sign * r
        draw.polygon(
            [(tip, cy), (tip - sign * r * 0.6, cy - r * 0.5), (tip - sign * r * 0.6, cy + r * 0.5)],
            fill=colour,
        )
    else:
        draw.rectangle((cx - r * 0.6, cy - r * 0.6, cx + r * 0.6, cy + r * 0.6), outline=colour, width=width)


# ------------------------------------------------------------------------------------------------ internals


def _text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, font: Font, fill: tuple[int, ...]) -> None:
    try:
        draw.text(xy, text, font=font, fill=fill)
    except (UnicodeError, ValueError, OSError):  # a bitmap fallback font without the glyphs
        draw.text(xy, text.encode("ascii", "replace").decode("ascii"), font=font, fill=fill)


def _line_height(font: Font) -> int:
    return int(font.getbbox("Ágjy")[3]) + 1


def _luma(colour: RGB) -> float:
    r, g, b = colour
    return 0.299 * r + 0.587 * g + 0.114 * b


def _mix(a: RGB, b: tuple[int, ...], t: float) -> RGB:
    return (
        round(a[0] * (1 - t) + b[0] * t),
        round(a[1] * (1 - t) + b[1] * t),
        round(a[2] * (1 - t) + b[2] * t),
    )


def _most_contrasting(colours: list[RGB], against: RGB) -> RGB:
    best = max(colours, key=lambda c: abs(_luma(c) - _luma(against)) + 0.001 * sum(c))
    if abs(_luma(best) - _luma(against)) < 60:
        return _mix(best, (255, 255, 255) if _luma(against) < 128 else (0, 0, 0), 0.6)
    return best
