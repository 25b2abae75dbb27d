"""A timeline picture of a plan: beats, chunks (reference / continuous) with their pairs, transitions as
overlaps, the music bed and on-screen text, on one time axis. For the UI's metadata and report.html.
With `music: {sync: beats}` the music row carries the beat grid (a tick at each of the music's beats,
the animatic's bed's or the ones tracked in the user's track) and each boundary that moved onto it shows
where it was (a dashed red line in the beats row, an arrow to where it is now).

The picture is data first (`timeline_boxes`: every box with its row, frames, label and pixel rectangle),
then drawn with Pillow (`render_timeline`), so tests can check the layout without reading pixels.

Any valid plan draws: labels are one line (newlines, tabs and control characters become spaces), a
label that does not fit its box is shortened with an ellipsis or left out, and a label the font cannot
draw is left out rather than failing the picture.
"""

from __future__ import annotations

import base64
import contextlib
import io
from dataclasses import dataclass
from functools import partial

from PIL import Image, ImageDraw

from vidgen_assets.core.plan import Plan, seconds
from vidgen_assets.core.text import fit, one_line
from vidgen_assets.media.fonts import Font, load_font, text_width

WIDTH = 1280
LEFT = 118
RIGHT = 16
TITLE_H = 30
AXIS_H = 24
LANE_H = 30
GAP = 6
BACKGROUND = (250, 250, 248)
INK = (30, 30, 30)
GRID = (222, 222, 218)
HATCH = (196, 118, 24)

ROWS: tuple[tuple[str, str, int], ...] = (
    # (row, its name on the left, lanes)
    ("beats", "beats", 1),
    ("chunks", "chunks", 2),
    ("transitions", "transitions", 1),
    ("music", "music", 1),
    ("text", "text", 2),
)
COLORS: dict[str, tuple[int, int, int]] = {
    "reference": (66, 123, 181),
    "continuous": (110, 168, 92),
    "transition": (232, 160, 52),
    "cut": (120, 120, 120),
    "music": (146, 102, 196),
    "no-music": (214, 214, 210),
    "caption": (92, 92, 92),
    "cta": (196, 62, 62),
    "beat-tick": (255, 255, 255),
    "moved-from": (214, 40, 40),
}
TICK_H = 9
"""The beat grid's ticks fill the bottom of the music lane, under its label."""
BEAT_COLORS = ((241, 214, 171), (189, 219, 236), (214, 234, 196), (236, 204, 219), (220, 212, 240))


@dataclass(frozen=True)
class Box:
    """One thing on the timeline: frames [start_frame, end_frame) of a row, drawn at (x0, y0)-(x1, y1)."""

    row: str
    kind: str
    """`beat`, `reference`, `continuous`, `transition`, `cut`, `music`, `no-music`, `beat-tick` (a beat of
    the music, with `sync: beats`), `moved-from` (where a moved boundary was), `caption` or `cta`."""
    label: str
    start_frame: int
    end_frame: int
    x0: int
    y0: int
    x1: int
    y1: int
    color: tuple[int, int, int]


def _row_tops() -> tuple[dict[str, int], int]:
    tops: dict[str, int] = {}
    y = TITLE_H + AXIS_H
    for row, _name, lanes in ROWS:
        tops[row] = y
        y += lanes * LANE_H + GAP
    return tops, y + 4


def image_height() -> int:
    return _row_tops()[1]


def timeline_boxes(plan: Plan, width: int = WIDTH) -> list[Box]:
    """Every box of the picture, in drawing order."""
    if width < LEFT + RIGHT + 100:
        raise ValueError(f"a timeline needs at least {LEFT + RIGHT + 100} px of width, got {width}")
    total = plan.total_frames
    span = width - LEFT - RIGHT
    tops, _ = _row_tops()

    def x(frame: int) -> int:
        return LEFT + round(min(max(frame, 0), total) * span / total)

    def box(row: str, lane: int, kind: str, label: str, start: int, end: int, color: tuple[int, int, int]) -> Box:
        y0 = tops[row] + lane * LANE_H
        x0 = min(x(start), width - RIGHT - 3)  # a box is at least 3 px wide, even a frame at the very end
        x1 = max(x(end), x0 + 3)
        return Box(row, kind, label, start, end, x0, y0 + 2, x1, y0 + LANE_H - 2, color)

    fps = plan.fps
    out: list[Box] = []
    for beat in plan.beats:
        label = f"{beat.pair_key} {one_line(beat.name)} {seconds(beat.start_frame, fps)}-{seconds(beat.end_frame, fps)}"
        color = BEAT_COLORS[beat.index % len(BEAT_COLORS)]
        out.append(box("beats", 0, "beat", label, beat.start_frame, beat.end_frame, color))
    for beat in plan.beats:
        start = beat.start_frame
        for chunk in beat.chunks:
            short = "ref" if chunk.kind == "reference" else "cont"
            label = f"c{chunk.index:03d} {short} {beat.pair_key}"
            end = start + chunk.frames
            out.append(box("chunks", beat.index % 2, chunk.kind, label, start, end, COLORS[chunk.kind]))
            start = end
    for beat, nxt in zip(plan.beats, plan.beats[1:], strict=False):
        if beat.transition_frames:
            label = f"{beat.transition} {seconds(beat.transition_frames, fps)}"
            end = nxt.start_frame + beat.transition_frames
            out.append(box("transitions", 0, "transition", label, nxt.start_frame, end, COLORS["transition"]))
        else:
            out.append(box("transitions", 0, "cut", "cut", nxt.start_frame, nxt.start_frame, COLORS["cut"]))
    music = plan.spec.music
    sync = plan.music_sync
    if music is not None:
        if music.file is not None:
            label = f"music: your track {one_line(music.file)}, volume {music.volume:g}"
        else:
            label = f"music: {one_line(plan.spec.music_mood)}, {music.bpm} bpm, volume {music.volume:g}"
        if sync is not None:
            label += f", cuts on its {len(sync.grid_s)} beats" + (" (tracked)" if sync.source == "tracked" else "")
        out.append(box("music", 0, "music", label, 0, total, COLORS["music"]))
    else:
        out.append(box("music", 0, "no-music", "no music", 0, total, COLORS["no-music"]))
    if sync is not None:
        for k, at in enumerate(sync.grid_s):
            frame = round(at * fps)
            if 0 <= frame <= total:
                out.append(box("music", 0, "beat-tick", f"beat {k} {at:.3f}s", frame, frame, COLORS["beat-tick"]))
        for move in sync.moves:
            label = f"was {seconds(move.old_frame, fps)}"
            out.append(box("beats", 0, "moved-from", label, move.old_frame, move.new_frame, COLORS["moved-from"]))
    for overlay in plan.overlays:
        lane = 1 if overlay.style == "cta" else 0
        out.append(box("text", lane, overlay.style, one_line(overlay.text), overlay.start_frame, overlay.end_frame,
                       COLORS[overlay.style]))  # fmt: skip
    return out


def _text(
    draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, fill: tuple[int, int, int], font: Font
) -> None:
    """Draw a label; a label the font cannot draw is left out (the picture still draws)."""
    if not text:
        return
    with contextlib.suppress(UnicodeError, ValueError, OSError):
        draw.text(xy, text, fill=fill, font=font)


def _ink_on(color: tuple[int, int, int]) -> tuple[int, int, int]:
    light = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]
    return INK if light > 150 else (255, 255, 255)


def _tick_step(duration_s: float) -> int:
    for step in (1, 2, 5, 10, 15, 30, 60):
        if duration_s / step <= 16:
            return step
    return 60


def x_of(plan: Plan, frame: int, width: int = WIDTH) -> int:
    """The picture's x of a frame on the time axis."""
    total = plan.total_frames
    return LEFT + round(min(max(frame, 0), total) * (width - LEFT - RIGHT) / total)


def render_timeline(plan: Plan, width: int = WIDTH) -> Image.Image:
    """The timeline picture (RGB, `width` x `image_height()`)."""
    boxes = timeline_boxes(plan, width)
    tops, height = _row_tops()
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font, bold, small = load_font(13), load_font(14, bold=True), load_font(11)
    spec = plan.spec
    title = (
        f"{plan.video_id}: {plan.duration_s:g} s, {plan.width}x{plan.height} @ {plan.fps} fps, "
        f"{len(plan.beats)} beats, {len(plan.chunks)} chunks, backend {spec.backend}"
    )
    _text(draw, (8, 8), fit(one_line(title), partial(text_width, bold), width - 16), INK, bold)

    total = plan.total_frames
    span = width - LEFT - RIGHT
    step = _tick_step(plan.duration_s)
    axis_y = TITLE_H + AXIS_H - 6
    second = 0
    while second * plan.fps <= total:
        tick_x = LEFT + round(second * plan.fps * span / total)
        draw.line([(tick_x, axis_y), (tick_x, height - 4)], fill=GRID)
        label = f"{second}s"
        _text(draw, (tick_x - text_width(small, label) / 2, TITLE_H), label, INK, small)
        second += step
    draw.line([(LEFT, axis_y), (width - RIGHT, axis_y)], fill=INK)
    for row, name, _lanes in ROWS:
        _text(draw, (8, tops[row] + 8), name, INK, font)

    for b in boxes:
        if b.kind == "beat-tick":  # a short white line at the foot of the music lane
            tick_x = x_of(plan, b.start_frame, width)
            draw.line([(tick_x, b.y1 - TICK_H), (tick_x, b.y1 - 1)], fill=b.color, width=2)
            continue
        if b.kind == "moved-from":  # dashed where the boundary was, an arrow to where it is
            old_x, new_x = x_of(plan, b.start_frame, width), x_of(plan, b.end_frame, width)
            for y in range(b.y0, b.y1, 6):
                draw.line([(old_x, y), (old_x, min(y + 3, b.y1))], fill=b.color, width=2)
            foot = b.y1 - 3
            draw.line([(old_x, foot), (new_x, foot)], fill=b.color, width=2)
            head = 4 if new_x > old_x else -4
            draw.polygon([(new_x, foot), (new_x - head, foot - 3), (new_x - head, foot + 3)], fill=b.color)
            continue
        if b.kind == "cut":
            draw.line([(b.x0, b.y0), (b.x0, b.y1)], fill=b.color, width=3)
            _text(draw, (b.x0 + 4, b.y0 + 6), "cut", INK, small)
            continue
        outline = INK if b.row in ("beats", "chunks") else b.color
        if b.kind == "transition":  # hatched: the frames two clips share
            w, h = b.x1 - b.x0, b.y1 - b.y0
            hatch = Image.new("RGB", (w + 1, h + 1), b.color)
            pen = ImageDraw.Draw(hatch)
            for hx in range(-h, w + 1, 6):
                pen.line([(hx, h), (hx + h, 0)], fill=HATCH)
            image.paste(hatch, (b.x0, b.y0))
            draw.rectangle([b.x0, b.y0, b.x1, b.y1], outline=HATCH)
        else:
            draw.rectangle([b.x0, b.y0, b.x1, b.y1], fill=b.color, outline=outline)
        measure = partial(text_width, font)
        text = fit(b.label, measure, b.x1 - b.x0 - 8)
        if b.kind == "transition" and text != b.label:  # a short overlap: its label goes beside it
            _text(draw, (b.x1 + 4, b.y0 + 7), fit(b.label, measure, width - RIGHT - b.x1 - 4), INK, font)
        else:
            _text(draw, (b.x0 + 4, b.y0 + 7), text, INK if b.kind == "transition" else _ink_on(b.color), font)
    return image


def timeline_png(plan: Plan, width: int = WIDTH) -> bytes:
    buffer = io.BytesIO()
    render_timeline(plan, width).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def timeline_markdown(plan: Plan, width: int = 960) -> str:
    """The picture as markdown with an embedded PNG, for a `dg.MetadataValue.md` in the Dagster UI."""
    data = base64.b64encode(timeline_png(plan, width)).decode("ascii")
    return f"![timeline of {plan.video_id}](data:image/png;base64,{data})"
