"""The loudness finishing arithmetic: the gain, the limiter's ceiling, the retry, what is off target."""

import math

from hypothesis import given
from hypothesis import strategies as st

from vidgen_assets.core.loudness import (
    AAC_HEADROOM_DB,
    AIM_LU,
    MAX_STEP_DB,
    RETRY_MARGIN_DB,
    SILENCE_LUFS,
    Finish,
    Loudness,
    adjust,
    finish_for,
    problems,
)

LUFS = st.floats(-60, -3, allow_nan=False)
TARGET = st.floats(-30, -5, allow_nan=False)
PEAK = st.floats(-9, 0, allow_nan=False)


@given(LUFS, st.floats(-40, 3), TARGET, PEAK)
def test_one_gain_to_the_target_and_the_limiter_only_where_the_peaks_would_pass_the_ceiling(i, tp, target, ceiling):
    done = finish_for(Loudness(i, 5.0, tp), target, ceiling)
    assert math.isclose(done.gain_db, target - i, abs_tol=0.006)
    assert math.isclose(done.ceiling_dbtp, ceiling - AAC_HEADROOM_DB, abs_tol=0.006)
    assert done.limit == (tp + done.gain_db > done.ceiling_dbtp)


def test_silence_is_never_amplified():
    for silent in (Loudness(-math.inf, 0.0, -math.inf), Loudness(SILENCE_LUFS, 0.0, -80.0)):
        assert silent.silent
        assert finish_for(silent, -14, -1).gain_db == 0.0
        assert problems(silent, -14, -1) == []
    assert Loudness(-math.inf, 0.0, -math.inf).as_record() == {
        "integrated_lufs": None,
        "range_lu": 0.0,
        "true_peak_dbtp": None,
    }


@given(st.floats(-3, 2), PEAK, st.floats(-16, -12))
def test_the_next_pass_lowers_the_ceiling_by_the_excess_and_moves_the_gain_by_what_is_off(tp, ceiling, lufs):
    first = Finish(gain_db=4.0, ceiling_dbtp=ceiling - AAC_HEADROOM_DB)
    again = adjust(first, Loudness(lufs, 4.0, tp), -14.0, ceiling)
    over, off = tp > ceiling, -14.0 - lufs
    if not over and abs(off) <= AIM_LU:
        assert again is None
        return
    assert again is not None and again.limit
    expected_ceiling = first.ceiling_dbtp - (tp - ceiling) - RETRY_MARGIN_DB if over else first.ceiling_dbtp
    assert math.isclose(again.ceiling_dbtp, expected_ceiling, abs_tol=0.006)
    assert math.isclose(again.gain_db, first.gain_db + (off if abs(off) > AIM_LU else 0.0), abs_tol=0.006)


def test_later_passes_step_by_how_much_the_loudness_really_rose_per_db():
    """Under heavy limiting 3 dB more gain gave 1 LU more: the 2 LU still missing take 6 dB more."""
    before = (Finish(2.0, -3.0), Loudness(-27.0, 1.0, -3.0))
    again = adjust(Finish(5.0, -3.0), Loudness(-26.0, 1.0, -3.0), -24.0, -2.0, before)
    assert again is not None and math.isclose(again.gain_db, 11.0)
    # A reading flatter than MIN_RISE is a limiter at its ceiling: the step is bounded.
    flat = adjust(Finish(5.0, -3.0), Loudness(-26.95, 1.0, -3.0), -24.0, -2.0, before)
    assert flat is not None and flat.gain_db <= 5.0 + MAX_STEP_DB


def test_a_silent_delivery_needs_no_other_pass():
    assert adjust(Finish(0.0, -2.0, True), Loudness(-math.inf, 0.0, -math.inf), -14, -1) is None


def test_off_target_says_by_how_much_and_which_way():
    assert problems(Loudness(-14.6, 3.0, -1.5), -14, -1) == []
    assert problems(Loudness(-19.6, 3.0, -3.9), -14, -1) == [
        "integrated loudness -19.6 LUFS is 5.6 LU below the target -14 LUFS (tolerance 1 LU)"
    ]
    assert problems(Loudness(-12.5, 3.0, -0.2), -14, -1) == [
        "integrated loudness -12.5 LUFS is 1.5 LU above the target -14 LUFS (tolerance 1 LU)",
        "true peak -0.2 dBTP is above the ceiling -1 dBTP",
    ]
