"""The timeline picture: laid out as data from the plan, then drawn; both checked."""

from __future__ import annotations

import base64
import io
from itertools import pairwise

import pytest
from PIL import Image

from vidgen_assets.core.plan import Plan
from vidgen_assets.core.planner import plan_spec
from vidgen_assets.core.spec import load_spec, read_spec_text
from vidgen_assets.media.timeline import (
    COLORS,
    WIDTH,
    image_height,
    render_timeline,
    timeline_boxes,
    timeline_markdown,
    timeline_png,
)
from vidgen_tests.conftest import EXAMPLES


def plan_of(name: str) -> Plan:
    return plan_spec(load_spec(EXAMPLES / f"{name}.yaml"), 5.0)


def test_every_beat_is_a_block_with_its_pair_name_and_times():
    plan = plan_of("cold-brew-ad")
    beats = [b for b in timeline_boxes(plan) if b.row == "beats"]
    assert [b.label for b in beats] == [
        "p000 hero_shot 0s-5s", "p001 pour 5s-10s", "p002 morning_ritual 10s-20s",
        "p003 detail_showcase 20s-25s", "p004 call_to_action 25s-30s",
    ]  # fmt: skip
    # Blocks tile the axis: each starts where the one before ends, the last at the right edge.
    assert beats[0].x0 == 118 and beats[-1].x1 == WIDTH - 16
    assert all(a.x1 == b.x0 for a, b in pairwise(beats))


def test_chunks_are_marked_reference_or_continuous_and_run_into_the_transition():
    plan = plan_of("cold-brew-ad")
    chunks = [b for b in timeline_boxes(plan) if b.row == "chunks"]
    assert [(c.kind, c.label) for c in chunks] == [
        (c.kind, f"c{c.index:03d} {'ref' if c.kind == 'reference' else 'cont'} p{c.beat_index:03d}")
        for c in plan.chunks
    ]
    assert {c.kind for c in chunks} == {"reference", "continuous"}
    for beat in plan.beats:  # a beat's clip is its frames plus the transition into the next beat
        mine = [c for c in chunks if c.label.endswith(beat.pair_key)]
        assert mine[0].start_frame == beat.start_frame
        assert mine[-1].end_frame == beat.start_frame + beat.clip_frames
        assert len({c.y0 for c in mine}) == 1  # one lane per pair; neighbours alternate so overlaps show
    lanes = [next(c.y0 for c in chunks if c.label.endswith(b.pair_key)) for b in plan.beats]
    assert all(a != b for a, b in pairwise(lanes))


def test_transitions_are_drawn_as_the_overlap_and_cuts_as_a_line():
    text = (
        "id: t\nprompt: p\nduration: 15\nmusic: false\nbeats:\n"
        "  - {name: a, duration: 5, prompt: x, transition: dissolve, transition_duration: 1}\n"
        "  - {name: b, duration: 5, prompt: y}\n  - {name: c, duration: 5, prompt: z, text: Hi}\n"
    )
    plan = plan_spec(read_spec_text(text, "t.yaml"), 5.0)
    boxes = timeline_boxes(plan)
    transitions = [b for b in boxes if b.row == "transitions"]
    assert [(t.kind, t.label, t.start_frame, t.end_frame) for t in transitions] == [
        ("transition", "dissolve 1s", 120, 144),
        ("cut", "cut", 240, 240),
    ]
    # The overlap is exactly where the first clip's last chunk and the second clip's first chunk meet.
    first_end = max(b.end_frame for b in boxes if b.row == "chunks" and b.label.endswith("p000"))
    assert first_end == transitions[0].end_frame
    assert [(b.kind, b.label) for b in boxes if b.row == "music"] == [("no-music", "no music")]
    assert [(b.kind, b.label, b.start_frame, b.end_frame) for b in boxes if b.row == "text"] == [
        ("caption", "Hi", 240, 360)
    ]


def test_music_and_text_rows_follow_the_spec():
    plan = plan_of("sneaker-vertical")
    boxes = timeline_boxes(plan)
    (music,) = [b for b in boxes if b.row == "music"]
    assert music.label == "music: energetic, 128 bpm, volume 0.9"
    assert (music.start_frame, music.end_frame) == (0, plan.total_frames)
    texts = {(b.kind, b.label) for b in boxes if b.row == "text"}
    assert texts == {("caption", "Run the night"), ("cta", "Shop the drop")}


@pytest.mark.parametrize("name", ["cold-brew-ad", "sneaker-vertical", "recipe-square", "planned-teaser"])
def test_the_picture_has_its_size_and_every_box_in_its_colour(name):
    plan = plan_of(name)
    with Image.open(io.BytesIO(timeline_png(plan))) as image:
        assert image.format == "PNG"
        assert image.size == (WIDTH, image_height())
        pixels = image.convert("RGB")
        for box in timeline_boxes(plan):
            if box.kind in ("cut", "transition") or box.x1 - box.x0 < 8:
                continue
            # Just inside the bottom-left corner: the box's fill, clear of its label and outline.
            assert pixels.getpixel((box.x0 + 2, box.y1 - 2)) == box.color, (box.row, box.label)
        assert COLORS["reference"] in {c for _, c in pixels.getcolors(1 << 20) or []}


def test_a_narrow_picture_still_fits_every_box_and_too_narrow_is_refused():
    plan = plan_of("cold-brew-ad")
    image = render_timeline(plan, width=480)
    assert image.size == (480, image_height())
    assert all(b.x1 <= 480 - 16 for b in timeline_boxes(plan, width=480))
    with pytest.raises(ValueError, match="at least"):
        timeline_boxes(plan, width=100)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    assert buffer.tell() > 1000


def test_the_markdown_embeds_the_png_for_the_ui():
    plan = plan_of("recipe-square")
    text = timeline_markdown(plan)
    head = "![timeline of recipe-square](data:image/png;base64,"
    assert text.startswith(head) and text.endswith(")")
    with Image.open(io.BytesIO(base64.b64decode(text[len(head) : -1]))) as image:
        assert (image.format, image.size) == ("PNG", (960, image_height()))


def test_the_beat_grid_is_ticked_on_the_music_row_and_moved_boundaries_show_where_they_were():
    """`sync: beats` with a user's track: a white tick at each tracked beat at the foot of the music lane
    (none between them), and a dashed red line where each moved boundary was, read on the pixels."""
    from vidgen_assets.core.plan import PlannedMusic, build_plan
    from vidgen_assets.media.timeline import TICK_H, x_of

    text = (
        "id: synced\nprompt: p\nduration: 12\nmusic: {file: t.wav, sync: beats}\nbeats:\n"
        "  - {name: a, duration: 4, prompt: x}\n  - {name: b, duration: 4, prompt: y}\n"
        "  - {name: c, duration: 4, prompt: z}\n"
    )
    grid = [0.3 + k * 60 / 105 for k in range(21)]  # 105 bpm from 0.3 s: 4 s -> 3.729 s, 8 s -> 7.729 s
    track = PlannedMusic(file="track.wav", sha256="0" * 64, seconds=12.5, beats=tuple(round(t, 4) for t in grid))
    plan = build_plan(read_spec_text(text, "synced.yaml"), 5.0, music_track=track)
    assert plan.music_sync is not None and len(plan.music_sync.moves) == 2
    image = render_timeline(plan).convert("RGB")
    boxes = timeline_boxes(plan)
    [bar] = [b for b in boxes if b.kind == "music"]
    ticks = [b for b in boxes if b.kind == "beat-tick"]
    assert len(ticks) == 21 and "your track t.wav" in bar.label and "cuts on its 21 beats (tracked)" in bar.label
    y = bar.y1 - TICK_H // 2  # under the label
    for tick in ticks:
        assert image.getpixel((x_of(plan, tick.start_frame), y)) == COLORS["beat-tick"]
    for a, b in pairwise(ticks):  # between two beats: the bar's own colour
        assert image.getpixel(((x_of(plan, a.start_frame) + x_of(plan, b.start_frame)) // 2, y)) == COLORS["music"]
    [beats_row] = {b.y0 for b in boxes if b.row == "beats"}
    for move in plan.music_sync.moves:
        old_x = x_of(plan, move.old_frame)
        column = [image.getpixel((old_x, yy)) for yy in range(beats_row, beats_row + 24)]
        assert column.count(COLORS["moved-from"]) >= 8  # dashed, red, where the boundary was
        assert abs(x_of(plan, move.new_frame) - old_x) > 10  # and the block edge moved away from there
    # Without sync: no ticks, no markers.
    plain = plan_spec(read_spec_text(text.replace(", sync: beats", ""), "plain.yaml"), 5.0)
    assert not [b for b in timeline_boxes(plain) if b.kind in ("beat-tick", "moved-from")]
    unsynced = render_timeline(plain).convert("RGB")
    assert all(unsynced.getpixel((x_of(plain, t.start_frame), y)) != COLORS["beat-tick"] for t in ticks)
