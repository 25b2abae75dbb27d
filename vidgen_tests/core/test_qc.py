"""The checks' decisions: flash counting as the photosensitivity guideline defines a flash, and which
checks a clip's measurements fail (pure: no media; `media/test_qc.py` measures real clips)."""

from __future__ import annotations

import pytest

from vidgen_assets.core import qc
from vidgen_assets.core.qc import ClipMeasures, FrameStats, blocking_failures, count_flashes, evaluate


def square_wave(hz: float, fps: int, seconds: float, low: float, high: float) -> list[float]:
    """A luminance series that switches between `low` and `high` `2 * hz` times a second."""
    period = fps / hz
    return [high if (n % period) < period / 2 else low for n in range(round(fps * seconds))]


@pytest.mark.parametrize(("hz", "flashes"), [(2, 2), (3, 3), (4, 4), (5, 5), (10, 10)])
def test_a_flicker_between_dark_and_bright_counts_one_flash_per_cycle(hz: int, flashes: int) -> None:
    assert count_flashes(square_wave(hz, 30, 3, 0.05, 0.7), 30) == flashes


def test_flashes_follow_the_guideline_thresholds() -> None:
    # Both images at or above 80% of the maximum: a flicker between bright images is no flash.
    assert count_flashes(square_wave(5, 30, 2, 0.82, 0.98), 30) == 0
    # The darker image just under 80%: it is.
    assert count_flashes(square_wave(5, 30, 2, 0.79, 0.95), 30) == 5
    # Changes of less than 10% of the maximum are not counted, however often they come.
    assert count_flashes(square_wave(5, 30, 2, 0.30, 0.39), 30) == 0
    assert count_flashes(square_wave(5, 30, 2, 0.30, 0.40), 30) == 5


def test_a_slow_fade_and_a_single_flash_are_not_a_flashing_sequence() -> None:
    fade = [n / 60 for n in range(61)]  # black to white over 2 s at 30 fps: one change
    assert qc.luminance_changes(fade) == [(60, 0.0, 1.0)]
    assert count_flashes(fade, 30) == 0
    one = [0.1] * 30 + [0.9] * 3 + [0.1] * 30  # one flash: a pair of opposing changes
    assert count_flashes(one, 30) == 1


def test_luma_is_linearised_with_the_display_gamma() -> None:
    assert qc.relative_luminance(16) == 0.0
    assert qc.relative_luminance(235) == 1.0
    assert qc.relative_luminance(125.5) == pytest.approx(0.5**2.4)
    assert qc.relative_luminance(255) == 1.0


def frames(
    count: int, diff: float = 2.0, luma: float = 120.0, black: float = 0.0, score: float = 1.0
) -> list[FrameStats]:
    return [FrameStats(luma, 20, 230, diff if n else 0.0, black, score if n else 0.0) for n in range(count)]


def by_name(results: list[qc.CheckResult]) -> dict[str, qc.CheckResult]:
    return {r.name: r for r in results}


def test_a_good_clip_passes_every_check_with_its_value_and_threshold() -> None:
    measured = ClipMeasures(24, tuple(frames(48)), (), start_psnr_db=45.0, end_psnr_db=44.0)
    results = evaluate(measured, "bridge")
    assert [r.name for r in results] == ["still", "frozen", "black", "flashes", "start", "end", "cut"]
    assert all(r.passed for r in results)
    assert blocking_failures(results) == []
    checks = by_name(results)
    assert (checks["start"].value, checks["start"].threshold) == (45.0, qc.MATCH_MIN_PSNR_DB)
    assert checks["still"].value == pytest.approx(2.0)
    assert checks["start"].as_record() == {
        "check": "start", "severity": "blocking", "value": 45.0, "threshold": qc.MATCH_MIN_PSNR_DB, "passed": True,
        "detail": "first frame PSNR 45.0 dB against the picture it must be (bridge)",
    }  # fmt: skip


def test_each_failure_is_blocking_but_a_cut_which_is_a_warning() -> None:
    still = ClipMeasures(24, tuple(frames(48, diff=0.01)), ((0, 48),))
    assert [r.name for r in blocking_failures(evaluate(still, "reference"))] == ["still", "frozen"]
    # A freeze of 12 of 48 frames is a quarter: allowed; 13 is not.
    assert by_name(evaluate(ClipMeasures(24, tuple(frames(48)), ((36, 48),)), "reference"))["frozen"].passed
    assert not by_name(evaluate(ClipMeasures(24, tuple(frames(48)), ((35, 48),)), "reference"))["frozen"].passed
    dark = frames(48)
    dark[:5] = frames(5, black=0.99)  # 5 of 48 black frames: 10.4%, over 10%
    assert [r.name for r in blocking_failures(evaluate(ClipMeasures(24, tuple(dark), ()), "reference"))] == ["black"]
    flat = [FrameStats(120, 118, 124, 2.0, 0.0, 1.0) for _ in range(48)]  # blank: a spread of 6 levels
    assert by_name(evaluate(ClipMeasures(24, tuple(flat), ()), "reference"))["black"].value == 1.0
    for psnr, passes in ((qc.MATCH_MIN_PSNR_DB, True), (qc.MATCH_MIN_PSNR_DB - 0.1, False)):  # either side
        start = by_name(evaluate(ClipMeasures(24, tuple(frames(48)), (), start_psnr_db=psnr), "continuous"))["start"]
        assert (start.passed, start.blocks) == (passes, not passes)
    jump = ClipMeasures(24, tuple(frames(48)), (), start_psnr_db=qc.MATCH_MIN_PSNR_DB - 0.1)
    assert [r.name for r in blocking_failures(evaluate(jump, "continuous"))] == ["start"]
    cut = frames(48)
    cut[20] = FrameStats(120, 20, 230, 40.0, 0.0, 35.0)
    results = by_name(evaluate(ClipMeasures(24, tuple(cut), ()), "reference"))
    assert not results["cut"].passed and results["cut"].severity == qc.WARNING
    assert results["cut"].detail == "largest scene-change score 35.0 (frame 20)"
    assert blocking_failures(list(results.values())) == []


def test_the_final_may_hold_black_for_its_longest_allowed_stretch_and_not_a_frame_more() -> None:
    fps, total = 24, 96
    longest = round(qc.FINAL_BLACK_MAX_S * fps)
    for dark, passes in ((longest, True), (longest + 1, False)):
        picture = frames(total)
        picture[24 : 24 + dark] = frames(dark, black=0.99)
        check = by_name(qc.evaluate_final(ClipMeasures(fps, tuple(picture), ()), total, None))["black_stretch"]
        assert (check.passed, check.value, check.detail.endswith("from frame 24")) == (passes, dark / fps, True)


def test_a_clip_that_holds_still_by_design_is_not_checked_for_motion() -> None:
    held = ClipMeasures(24, tuple(frames(48, diff=0.0)), ((0, 48),))
    results = evaluate(held, "reference", moves=False)
    assert [r.name for r in results] == ["black", "flashes", "cut"]
    assert blocking_failures(results) == []


def test_a_clip_needs_frames() -> None:
    with pytest.raises(ValueError, match="no frames"):
        ClipMeasures(24, (), ())
