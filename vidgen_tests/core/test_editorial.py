"""The finished timeline as editorial data, from plans: frame-exact, every frame shown once."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vidgen_assets.core.editorial import edit_timeline, needs_tail
from vidgen_assets.core.plan import build_plan
from vidgen_assets.core.spec import parse_spec


def plan_of(beats, duration=None, fps=24, chunk_s=5.0, **extra):
    specs = [{"name": f"b{i}", "duration": d, "prompt": f"shot {i}", "transition": t, "transition_duration": td}
             for i, (d, t, td) in enumerate(beats)]  # fmt: skip
    total = duration if duration is not None else sum(d for d, _, _ in beats)
    return build_plan(parse_spec({"id": "v", "prompt": "p", "duration": total, "fps": fps, "beats": specs, **extra}),
                      chunk_s)  # fmt: skip


def test_a_fade_is_a_transition_at_the_cut_from_the_outgoing_clips_handle():
    edit = edit_timeline(plan_of([(5, "fade", 0.5), (5, "cut", 0.5)]))
    video = edit.track("video")
    assert video is not None
    [a, b] = video.clips
    assert (a.media.key, a.start_frame, a.frames, a.handle_after) == ("chunk_000", 0, 120, 12)
    assert (b.media.key, b.start_frame, b.source_start) == ("chunk_001", 120, 0)
    [t] = video.transitions
    assert (t.name, t.at_frame, t.in_offset, t.out_offset) == ("fade", 120, 0, 12)


def test_a_last_chunk_wholly_inside_the_transition_gives_way_to_the_beats_tail():
    plan = plan_of([(5, "fade", 1.5), (5, "cut", 0.5)])
    assert [c.frames for c in plan.beats[0].chunks] == [120, 36] and needs_tail(plan.beats[0])
    video = edit_timeline(plan).track("video")
    assert video is not None
    a, tail, b = video.clips
    assert (a.media.key, a.frames) == ("chunk_000", 119)
    assert (tail.media.kind, tail.media.key, tail.start_frame, tail.frames, tail.handle_after) == (
        "tail",
        "p000",
        119,
        1,
        36,
    )
    assert b.start_frame == 120


def test_a_bridge_is_a_clip_of_its_own_at_the_start_of_the_beat_it_leads_into():
    plan = plan_of([(5, "bridge", 1), (5, "cut", 0.5)])
    video = edit_timeline(plan).track("video")
    assert video is not None
    assert [(c.media.kind, c.start_frame, c.frames) for c in video.clips] == [
        ("chunk", 0, 120), ("bridge", 120, 24), ("chunk", 144, 96),
    ]  # fmt: skip
    assert video.transitions == ()


def test_text_cta_music_and_voice_are_tracks_of_their_own_with_their_text():
    plan = build_plan(parse_spec({
        "id": "v", "prompt": "p", "duration": 10, "cta": "Order today",
        "beats": [{"name": "a", "duration": 5, "prompt": "x", "text": "Hello"},
                  {"name": "b", "duration": 5, "prompt": "y", "say": "Buy it."}],
    }), 5)  # fmt: skip
    edit = edit_timeline(plan, voice_frames={"line_01": 30})
    assert [(t.name, t.kind) for t in edit.tracks] == [
        ("video", "video"), ("text", "video"), ("cta", "video"), ("music", "audio"), ("voice", "audio"),
    ]  # fmt: skip
    text, cta, voice = edit.track("text"), edit.track("cta"), edit.track("voice")
    assert text is not None and cta is not None and voice is not None
    assert [(c.metadata["text"], c.start_frame, c.frames) for c in text.clips] == [("Hello", 0, 120)]
    assert [(c.metadata["text"], c.start_frame, c.frames) for c in cta.clips] == [("Order today", 120, 120)]
    assert [(c.media.key, c.start_frame, c.frames) for c in voice.clips] == [("line_01", 126, 30)]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(3, 12), st.sampled_from(["cut", "fade", "dissolve", "bridge"]),
                  st.sampled_from([0.25, 1, 1.5, 2, 5])),
        min_size=1, max_size=6,
    ),
    st.sampled_from([24, 25, 30]),
    st.sampled_from([1.0, 2.0, 5.0, 8.0]),
)  # fmt: skip
def test_every_frame_of_the_video_is_shown_by_exactly_one_clip_from_a_range_its_media_has(beats, fps, chunk_s):
    plan = plan_of(beats, duration=max(5, sum(d for d, _, _ in beats)), fps=fps, chunk_s=chunk_s)
    video = edit_timeline(plan).track("video")
    assert video is not None
    cursor = 0
    for clip in video.clips:
        assert clip.start_frame == cursor and clip.frames > 0
        assert clip.source_start >= 0 and clip.handle_after >= 0
        cursor = clip.end_frame
    assert cursor == plan.total_frames
    starts = {c.start_frame: c for c in video.clips}
    blends = [j for j in plan.joins if j.frames and j.transition != "bridge"]
    assert [(t.at_frame, t.out_offset) for t in video.transitions] == [(j.offset_frame, j.frames) for j in blends]
    for t in video.transitions:  # the clip before the cut holds every frame the transition blends
        before = next(c for c in video.clips if c.end_frame == t.at_frame)
        assert before.handle_after >= t.out_offset and t.at_frame in starts
