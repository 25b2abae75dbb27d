"""Fitting a voiceover line into its beat, and its cue: pure rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vidgen_assets.core.plan import build_plan
from vidgen_assets.core.spec import parse_spec
from vidgen_assets.core.voice import MAX_SPEEDUP, LineTooLong, check_fit, cue, cues, tempo

SPEC = {
    "id": "v", "prompt": "p", "duration": 10, "fps": 24,
    "beats": [{"name": "hero", "duration": 5, "prompt": "x", "say": "one"},
              {"name": "end", "duration": 5, "prompt": "y", "say": "two"}],
}  # fmt: skip


@given(spoken=st.floats(0.1, 20), room=st.floats(0.5, 10))
def test_tempo_fits_within_the_bound_or_refuses(spoken, room):
    try:
        t = tempo(spoken, room)
    except LineTooLong:
        assert spoken / room > MAX_SPEEDUP
        return
    assert 1.0 <= t <= MAX_SPEEDUP + 0.001
    assert spoken / t <= room + 1e-9


def test_lines_start_after_a_lead_in_and_end_with_their_beat():
    plan = build_plan(parse_spec(SPEC), 5.0)
    assert [(line.key, line.start_frame, line.end_frame) for line in plan.voice_lines] == [
        ("line_00", 6, 120), ("line_01", 126, 240)
    ]  # fmt: skip


def test_too_long_names_the_beat_and_the_lengths():
    plan = build_plan(parse_spec(SPEC), 5.0)
    line = plan.voice_lines[1]
    assert check_fit(plan, line, 5.0) == pytest.approx(1.053)
    with pytest.raises(LineTooLong) as caught:
        check_fit(plan, line, 7.0)
    message = str(caught.value)
    assert message.startswith("beats[1].say ('end'): the line lasts 7.00 s spoken but its beat leaves 4.75 s")
    assert "even 1.25x faster it needs 5.60 s" in message


def test_cue_runs_from_the_line_start_for_its_length_and_never_past_the_beat():
    plan = build_plan(parse_spec(SPEC), 5.0)
    line = plan.voice_lines[1]
    assert cue(plan, line, 1.5, 1) == type(cue(plan, line, 1.5, 1))(1, 5.25, 6.75, "two")
    assert cue(plan, line, 9.0, 1).end_s == 10.0


def test_cues_follow_the_voice_stage_lines_and_skip_unknown_keys():
    plan = build_plan(parse_spec(SPEC), 5.0)
    spoken = [{"key": "line_00", "spoken_s": 1.0}, {"key": "gone", "spoken_s": 2}, {"key": "line_01", "spoken_s": 9}]
    assert [(c.index, c.start_s, c.end_s, c.text) for c in cues(plan, spoken)] == [
        (0, 0.25, 1.25, "one"), (2, 5.25, 10.0, "two")
    ]  # fmt: skip
