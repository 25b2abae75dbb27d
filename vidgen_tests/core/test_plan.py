import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidgen_assets.core.plan import Join, build_plan, layout_chunks, max_beats, pair_index, pair_key
from vidgen_assets.core.spec import parse_spec


def spec(duration=30, fps=24, beats=None, **extra):
    return parse_spec({"id": "v", "prompt": "p", "duration": duration, "fps": fps, "beats": beats, **extra})


def beat(name, duration, transition="cut", **extra):
    return {"name": name, "duration": duration, "prompt": f"{name} shot", "transition": transition, **extra}


def test_max_beats_is_one_per_five_seconds_rounded_up():
    assert [max_beats(d) for d in (5, 6, 10, 15, 16, 30, 300)] == [1, 2, 2, 3, 4, 6, 60]


def test_ten_five_second_beats_in_a_fifteen_second_video_keep_three():
    plan = build_plan(spec(15, beats=[beat(f"b{i}", 5) for i in range(10)]), 5)
    assert [b.name for b in plan.beats] == ["b0", "b1", "b2"]
    assert [b.start_frame for b in plan.beats] == [0, 120, 240]
    assert plan.truncation is not None
    assert (plan.truncation.video_id, plan.truncation.original, plan.truncation.kept) == ("v", 10, 3)
    assert plan.warnings[0].startswith("the spec has 10 beats but a 15 s video allows at most 3")
    assert "dropped b3, b4, b5, b6, b7, b8, b9" in plan.warnings[0]


def test_start_times_are_recomputed_and_the_last_beat_extended_to_the_end():
    plan = build_plan(spec(30, beats=[beat("a", 5), beat("b", 10), beat("c", 5)]), 5)
    assert [(b.start_frame, b.frames) for b in plan.beats] == [(0, 120), (120, 240), (360, 360)]
    assert plan.warnings == ("last beat 'c' extended from 5s to 15s to end exactly at 30s",)
    assert plan.truncation is None


def test_beats_past_the_end_are_dropped_and_the_last_trimmed():
    plan = build_plan(spec(12, beats=[beat("a", 10), beat("b", 10), beat("c", 5)]), 5)
    assert [(b.name, b.start_frame, b.frames) for b in plan.beats] == [("a", 0, 240), ("b", 240, 48)]
    assert plan.warnings == (
        "beat 'c' starts at 20s, at or after the video's end (12s): dropped",
        "last beat 'b' trimmed from 10s to 2s to end exactly at 12s",
    )
    assert plan.spec.beats is not None and [b.duration for b in plan.spec.beats] == [10, 2]


def test_a_beat_shorter_than_a_frame_is_dropped_not_planned_empty():
    # Found by the fuzz test: 0.015625 s at 24 fps is 0.375 frame, which rounded to a beat of 0 frames
    # and no chunk.
    plan = build_plan(spec(30, beats=[beat("blink", 0.015625), beat("b", 1)]), 2)
    assert [(b.name, b.start_frame, b.frames, len(b.chunks)) for b in plan.beats] == [("b", 0, 720, 15)]
    assert plan.warnings[0] == "beat 'blink' lasts 0.015625 s, less than one frame at 24 fps: dropped"
    only = build_plan(spec(5, beats=[beat("blink", 0.01)]), 5)
    assert [(b.name, b.frames) for b in only.beats] == [("blink", 120)]  # the only beat fills the video


def test_fractional_durations_land_on_whole_frames_that_sum_to_the_total():
    plan = build_plan(spec(15, fps=25, beats=[beat("a", 7.33), beat("b", 3.33), beat("c", 4.34)]), 5)
    # Boundaries are rounded, not durations: 183.25 -> 183, 266.5 -> 266 (banker's), end 375.
    assert [b.start_frame for b in plan.beats] == [0, 183, 266]
    assert [b.frames for b in plan.beats] == [183, 83, 109]
    assert sum(b.frames for b in plan.beats) == plan.total_frames == 375


@pytest.mark.parametrize("fps", [24, 25, 30])
def test_transitions_add_frames_to_the_outgoing_clip_so_the_total_is_exact(fps):
    beats = [
        beat("a", 5, "fade"),
        beat("b", 10, "dissolve", transition_duration=1),
        beat("c", 5, "wipeleft"),
        beat("d", 10),
    ]
    plan = build_plan(spec(30, fps=fps, beats=beats), 5)
    t_fade, t_dissolve = round(0.5 * fps), fps
    assert [b.transition_frames for b in plan.beats] == [t_fade, t_dissolve, t_fade, 0]
    assert [b.clip_frames for b in plan.beats] == [
        5 * fps + t_fade,
        10 * fps + t_dissolve,
        5 * fps + t_fade,
        10 * fps,
    ]
    # The stitched length: sum(clips) - sum(transitions) == duration, to the frame.
    assert sum(b.clip_frames for b in plan.beats) - sum(b.transition_frames for b in plan.beats) == 30 * fps
    assert plan.joins == (
        Join(transition="fade", frames=t_fade, offset_frame=5 * fps),
        Join(transition="dissolve", frames=t_dissolve, offset_frame=15 * fps),
        Join(transition="wipeleft", frames=t_fade, offset_frame=20 * fps),
    )


def test_offsets_follow_the_design_formula():
    # offset_k = sum(d_0..d_{k-1}) - sum(T_1..T_k), with d the clip lengths.
    beats = [
        beat("a", 5, "fade"),
        beat("b", 7.5, "fade", transition_duration=1.25),
        beat("c", 5, "fade"),
        beat("d", 7.5),
    ]
    plan = build_plan(spec(25, beats=beats), 5)
    clips = [b.clip_frames for b in plan.beats]
    ts = [b.transition_frames for b in plan.beats]
    for k, join in enumerate(plan.joins, start=1):
        assert join.offset_frame == sum(clips[:k]) - sum(ts[:k])


def test_a_transition_longer_than_the_next_beat_is_shortened_with_a_warning():
    plan = build_plan(spec(6, beats=[beat("a", 5, "fade", transition_duration=2), beat("b", 1)]), 5)
    assert plan.beats[0].transition_frames == 24
    assert "shortened from 2s to 1s" in plan.warnings[0]


def test_the_last_beat_never_has_a_transition():
    plan = build_plan(spec(10, beats=[beat("a", 5), beat("b", 5, "fade")]), 5)
    assert (plan.beats[-1].transition, plan.beats[-1].transition_frames) == ("cut", 0)


def test_chunks_reference_then_continuous_with_motion_offsets():
    chunks = layout_chunks(2, 372, 120, first_index=7)
    assert [(c.index, c.position, c.kind, c.frames, c.motion_offset) for c in chunks] == [
        (7, 0, "reference", 120, 0),
        (8, 1, "continuous", 120, 120),
        (9, 2, "continuous", 132, 240),
    ]


def test_a_small_remainder_is_absorbed_but_a_larger_one_gets_its_own_chunk():
    assert [c.frames for c in layout_chunks(0, 132, 120, 0)] == [132]
    assert [c.frames for c in layout_chunks(0, 150, 120, 0)] == [150]
    assert [c.frames for c in layout_chunks(0, 151, 120, 0)] == [120, 31]
    assert [c.frames for c in layout_chunks(0, 120, 120, 0)] == [120]
    assert [c.frames for c in layout_chunks(0, 60, 120, 0)] == [60]


def test_any_number_of_chunks_per_beat_and_global_chunk_numbering():
    plan = build_plan(spec(45, beats=[beat("a", 5), beat("long", 35), beat("c", 5)]), 5)
    assert [len(b.chunks) for b in plan.beats] == [1, 7, 1]
    assert [c.index for c in plan.chunks] == list(range(9))
    assert plan.pair_keys == ("p000", "p001", "p002")
    assert sum(c.frames for c in plan.chunks) == plan.total_frames


def test_chunk_length_follows_the_backend():
    plan = build_plan(spec(20, beats=[beat("a", 20)]), chunk_seconds=4)
    assert plan.chunk_frames == 96
    assert [c.frames for c in plan.chunks] == [96, 96, 96, 96, 96]


def test_overlays_for_beat_text_and_cta_over_the_last_beat():
    plan = build_plan(spec(15, beats=[beat("a", 5, text="Hello"), beat("b", 5), beat("c", 5)], cta="Buy"), 5)
    assert [(o.text, o.style, o.start_frame, o.end_frame) for o in plan.overlays] == [
        ("Hello", "caption", 0, 120),
        ("Buy", "cta", 240, 360),
    ]


def test_pair_keys_round_trip_and_reject_junk():
    assert pair_key(3) == "p003"
    assert pair_index("p003") == 3
    for junk in ("3", "p3", "q003", "p00a", "p0003"):
        with pytest.raises(ValueError):
            pair_index(junk)


def test_plan_round_trips_through_json():
    from vidgen_assets.core.plan import Plan

    plan = build_plan(spec(15, beats=[beat("a", 5, "fade"), beat("b", 10)], cta="x"), 5)
    assert Plan.model_validate_json(plan.model_dump_json()) == plan


def test_beats_shorter_than_a_frame_are_dropped():
    plan = build_plan(
        spec(15, beats=[beat("a", 0.01, "fade", transition_duration=5), beat("b", 0.01), beat("c", 5)]), 5
    )
    assert [(b.name, b.start_frame, b.frames, len(b.chunks)) for b in plan.beats] == [("c", 0, 360, 3)]
    assert plan.warnings[:2] == (
        "beat 'a' lasts 0.01 s, less than one frame at 24 fps: dropped",
        "beat 'b' lasts 0.01 s, less than one frame at 24 fps: dropped",
    )
    only = build_plan(spec(5, beats=[beat("tiny", 0.01)]), 5)
    assert [(b.name, b.frames) for b in only.beats] == [("tiny", 120)]


# Bridges (DESIGN.md "Version 2"): the bridge fills the first T frames of the incoming beat's slot.


def test_a_bridge_takes_the_first_frames_of_the_incoming_beat_and_the_outgoing_clip_needs_no_overlap():
    plan = build_plan(spec(15, beats=[beat("a", 5, "bridge"), beat("b", 5, "fade"), beat("c", 5)]), 5)
    a, b, c = plan.beats
    assert (a.transition, a.transition_frames, a.clip_frames) == ("bridge", 24, 120)  # 1 s default, no overlap
    assert (b.bridge_in_frames, b.own_frames, b.clip_frames) == (24, 96, 96 + 12)  # + its fade into c
    assert c.clip_frames == 120
    (bridge,) = plan.bridges
    assert (bridge.key, bridge.from_beat, bridge.to_beat, bridge.start_frame, bridge.frames) == ("b000", 0, 1, 120, 24)
    assert [c.frames for c in b.chunks] == [108]


def test_a_bridge_leaves_the_incoming_beat_half_of_its_frames():
    plan = build_plan(spec(10, beats=[beat("a", 5, "bridge", transition_duration=5), beat("b", 5)]), 5)
    assert plan.beats[0].transition_frames == 60 and plan.beats[1].own_frames == 60
    assert "shortened from 5s to 2.5s" in plan.warnings[0]


def test_xfade_transitions_are_unchanged_by_bridges():
    plan = build_plan(spec(15, beats=[beat("a", 5, "fade"), beat("b", 5, "wipeleft"), beat("c", 5)]), 5)
    assert [(b.clip_frames, b.bridge_in_frames) for b in plan.beats] == [(132, 0), (132, 0), (120, 0)]
    assert plan.bridges == ()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(5, 12), st.sampled_from(["cut", "fade", "bridge"]), st.sampled_from([0.25, 1, 2, 5])),
        min_size=1, max_size=6,
    ),
    st.sampled_from([24, 25, 30]),
)  # fmt: skip
def test_clips_and_bridges_fill_the_duration_to_the_frame(beats, fps):
    duration = sum(d for d, _, _ in beats)
    specs = [beat(f"b{i}", d, t, transition_duration=td) for i, (d, t, td) in enumerate(beats)]
    plan = build_plan(spec(duration, fps=fps, beats=specs), 5)
    # Every frame of the video is a frame of exactly one beat's own clip or of one bridge.
    assert sum(b.own_frames for b in plan.beats) + sum(x.frames for x in plan.bridges) == plan.total_frames
    for b in plan.beats:
        assert sum(c.frames for c in b.chunks) == b.clip_frames >= b.own_frames > 0
        assert b.clip_frames == b.own_frames + (b.transition_frames if b.transition not in ("cut", "bridge") else 0)
    for x in plan.bridges:
        incoming = plan.beats[x.to_beat]
        assert (x.start_frame, x.frames) == (incoming.start_frame, incoming.bridge_in_frames)
