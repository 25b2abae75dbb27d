"""Loudness finishing, the arithmetic: what gain and limiter ceiling bring a mix to the spec's target.

The final mix is finished in two passes (`media.loudness`): measure the mix (ITU-R BS.1770 integrated
loudness, loudness range and true peak, as ffmpeg's `ebur128` meter reports them), then apply one
linear gain and a true-peak limiter. A linear gain keeps the mix's dynamics as they are (a single dynamic
pass would ride the level); the limiter only catches the peaks the gain pushes over the ceiling. The
delivered file is measured again: AAC encoding adds a little peak, so the limiter's ceiling leaves
headroom below the target, and if the delivered true peak is still over it, the mix is finished once more
with the ceiling lowered by the excess; a mix whose peaks the limiter had to take down a lot comes out
quieter than the gain promised, and gets the shortfall added (`adjust`, a few passes at most).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SILENCE_LUFS = -70.0
"""BS.1770's absolute gate: a mix whose integrated loudness is at or below it holds nothing to measure,
and is left as it is (never amplified: silence stays silence, not noise)."""
TOLERANCE_LU = 1.0
"""How far the delivered integrated loudness may be from its target (platforms' own tolerance)."""
AAC_HEADROOM_DB = 1.0
"""How far below the true-peak target the limiter's ceiling sits: what AAC encoding and resampling
add to the peaks, with a margin (measured: 0.3-0.7 dB at 192 kb/s)."""
RETRY_MARGIN_DB = 0.3
AIM_LU = 0.5
"""A delivered mix further than this from its target is finished again (half the tolerance: one encode
is enough for most mixes, the limiter taking a few tenths of a LU from a bed of strong beats)."""
MAX_PASSES = 5
MAX_STEP_DB = 12.0
"""The most gain one correction adds or takes away."""
MIN_RISE = 0.25
"""The least loudness a dB of gain is taken to add (a flatter reading is a limiter at its ceiling)."""
"""Encodes at most per mix (measured: one for most mixes, two or three for a mix of strong peaks)."""


@dataclass(frozen=True)
class Loudness:
    """A measured mix: integrated loudness (LUFS), loudness range (LU), true peak (dBTP)."""

    integrated_lufs: float
    range_lu: float
    true_peak_dbtp: float

    @property
    def silent(self) -> bool:
        """Nothing above BS.1770's absolute gate (a silent track, or none)."""
        return not math.isfinite(self.integrated_lufs) or self.integrated_lufs <= SILENCE_LUFS

    def as_record(self) -> dict[str, float | None]:
        """JSON-ready (a silent mix's -inf becomes None)."""

        def value(x: float) -> float | None:
            return round(x, 2) if math.isfinite(x) else None

        return {
            "integrated_lufs": value(self.integrated_lufs),
            "range_lu": value(self.range_lu),
            "true_peak_dbtp": value(self.true_peak_dbtp),
        }


@dataclass(frozen=True)
class Finish:
    """What the second pass applies: a linear gain (dB) and the limiter's ceiling (dBTP); `limit` is
    False when the gained peaks stay under the ceiling (the limiter would pass every sample as it is)."""

    gain_db: float
    ceiling_dbtp: float
    limit: bool = True


def finish_for(measured: Loudness, loudness: float, true_peak: float) -> Finish:
    """The gain that brings `measured` to `loudness` LUFS, and the limiter ceiling under `true_peak`
    dBTP with AAC's headroom. A silent mix gets no gain."""
    gain = 0.0 if measured.silent else round(loudness - measured.integrated_lufs, 2)
    ceiling = round(true_peak - AAC_HEADROOM_DB, 2)
    return Finish(gain_db=gain, ceiling_dbtp=ceiling, limit=measured.silent or measured.true_peak_dbtp + gain > ceiling)


def adjust(
    applied: Finish,
    delivered: Loudness,
    loudness: float,
    true_peak: float,
    before: tuple[Finish, Loudness] | None = None,
) -> Finish | None:
    """The next pass's gain and ceiling from what the delivered file measures, or None when it is on
    target. A true peak over the ceiling lowers the limiter's ceiling by the excess (and a margin); an
    integrated loudness off the target by more than `AIM_LU` (short of it is what heavy limiting takes
    away from a mix of strong peaks) changes the gain. The first correction is the difference; the next
    ones divide it by how much the loudness actually rose per dB of gain between the last two passes
    (`before`: the pass before; a secant step), since under heavy limiting a dB of gain adds less than
    a dB of loudness."""
    if delivered.silent:
        return None
    ceiling = applied.ceiling_dbtp
    if delivered.true_peak_dbtp > true_peak:
        ceiling = round(ceiling - (delivered.true_peak_dbtp - true_peak) - RETRY_MARGIN_DB, 2)
    gain = applied.gain_db
    off = loudness - delivered.integrated_lufs
    if abs(off) > AIM_LU:
        rise = 1.0
        if before is not None and applied.gain_db != before[0].gain_db:
            rise = (delivered.integrated_lufs - before[1].integrated_lufs) / (applied.gain_db - before[0].gain_db)
        step = off / min(1.0, max(rise, MIN_RISE))
        gain = round(gain + max(-MAX_STEP_DB, min(MAX_STEP_DB, step)), 2)
    if (gain, ceiling) == (applied.gain_db, applied.ceiling_dbtp):
        return None
    return Finish(gain_db=gain, ceiling_dbtp=ceiling, limit=True)


def problems(delivered: Loudness, loudness: float, true_peak: float) -> list[str]:
    """Why a delivered mix is off its target (empty when it is on it, or silent)."""
    if delivered.silent:
        return []
    found = []
    off = delivered.integrated_lufs - loudness
    if abs(off) > TOLERANCE_LU:
        found.append(
            f"integrated loudness {delivered.integrated_lufs:.1f} LUFS is {abs(off):.1f} LU "
            f"{'above' if off > 0 else 'below'} the target {loudness:g} LUFS (tolerance {TOLERANCE_LU:g} LU)"
        )
    if delivered.true_peak_dbtp > true_peak:
        found.append(f"true peak {delivered.true_peak_dbtp:.1f} dBTP is above the ceiling {true_peak:g} dBTP")
    return found
