"""Cuts on the beat: boundaries moved onto the music's beat grid, never further than half a second."""

import itertools

from hypothesis import given
from hypothesis import strategies as st

from vidgen_assets.core.beat_sync import MAX_SHIFT_S, beat_grid_s, snap_starts


def test_the_animatics_grid_is_every_60_over_bpm_seconds_from_zero():
    assert beat_grid_s(120, 2.0) == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert len(beat_grid_s(110, 30)) == 56  # 30 s at 110 bpm: beats 0 .. 55


def test_each_boundary_moves_to_the_nearest_beat_within_half_a_second():
    # 110 bpm: a beat every 0.5454 s. Boundaries at 5 s and 10 s (24 fps) go to its beats 9 and 18,
    # 4.909 s and 9.818 s: frames 118 (4.917 s) and 236 (9.833 s), each within half a frame of its beat.
    starts, moved, notes = snap_starts([0, 120, 240], 720, 24, beat_grid_s(110, 30))
    assert starts == [0, 118, 236] and notes == []
    assert [(m.index, m.old_frame, m.new_frame, m.music_beat) for m in moved] == [(1, 120, 118, 9), (2, 240, 236, 18)]


def test_a_boundary_that_would_empty_a_beat_stays():
    # Beats of 2 and 10 frames at 10 fps; the grid has a beat only at 0 and at 1.0 s.
    starts, moved, notes = snap_starts([0, 2, 12], 20, 10, [0.0, 1.0], max_shift_s=1.0)
    assert starts[1] == 2 or starts[1] == 10
    assert all(b > a for a, b in itertools.pairwise(starts))
    assert notes or moved


@given(
    st.lists(st.integers(1, 240), min_size=1, max_size=10),
    st.sampled_from([24, 25, 30]),
    st.integers(40, 220),
)
def test_the_video_keeps_its_length_every_beat_a_frame_and_every_move_lands_on_a_beat(lengths, fps, bpm):
    starts = [sum(lengths[:i]) for i in range(len(lengths))]
    total = sum(lengths)
    grid = beat_grid_s(bpm, total / fps)
    new, moved, _ = snap_starts(starts, total, fps, grid)
    assert new[0] == 0 and len(new) == len(starts)
    assert all(b > a for a, b in zip(new, [*new[1:], total], strict=False))  # every beat keeps a frame
    for m in moved:
        assert abs(m.new_frame / fps - grid[m.music_beat]) <= 0.5 / fps + 1e-9  # on the beat, to a frame
        assert abs(m.new_frame - m.old_frame) / fps <= MAX_SHIFT_S + 0.5 / fps + 1e-9


def _file_spec(beats_s: list[float] | None):
    from vidgen_assets.core.plan import PlannedMusic, build_plan
    from vidgen_assets.core.spec import parse_spec

    spec = parse_spec({
        "id": "own", "prompt": "p", "duration": 12, "fps": 24, "music": {"file": "t.wav", "sync": "beats"},
        "beats": [{"name": n, "duration": 4, "prompt": n} for n in ("a", "b", "c")],
    })  # fmt: skip
    track = None if beats_s is None else PlannedMusic(file="track.wav", sha256="0" * 64, seconds=13, beats=beats_s)
    return build_plan(spec, 5.0, music_track=track)


def test_a_users_track_moves_the_cuts_onto_its_tracked_beats_not_a_tempo_grid():
    # Tracked beats with a swing no tempo gives: 3.81 s and 8.27 s are the nearest to 4 s and 8 s.
    plan = _file_spec([0.3, 1.2, 2.0, 3.0, 3.81, 4.6, 5.7, 6.5, 7.4, 8.27, 9.0, 12.6])
    assert [b.start_frame for b in plan.beats] == [0, round(3.81 * 24), round(8.27 * 24)]
    assert plan.music_sync is not None and plan.music_sync.source == "tracked"
    assert plan.music_sync.grid_s[-1] == 9.0  # the beats inside the video only
    assert [(m.index, m.old_frame, m.new_frame) for m in plan.music_sync.moves] == [(1, 96, 91), (2, 192, 198)]
    assert "music sync: beat 1 (b) starts at 3.792 s, not 4.000 s: on your track's beat at 3.810 s" in plan.warnings[0]
    assert sum(b.frames for b in plan.beats) == 288  # still `duration` to the frame


def test_a_track_whose_beats_were_not_read_keeps_its_boundaries_and_says_so():
    plan = _file_spec(None)
    assert [b.start_frame for b in plan.beats] == [0, 96, 192] and plan.music_sync is None
    assert "music sync: the boundaries stay where they are: the track was not read" in plan.warnings
