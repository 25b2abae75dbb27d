"""Loudness: measure a file with ffmpeg's EBU R128 meter, and finish a mix to a target in two passes.

`finish` is the whole process (the arithmetic is `core.loudness`): measure the mix (a WAV), apply one
linear gain and a true-peak limiter while encoding the deliverable's AAC, measure the delivered file;
while it is off target (a true peak over the ceiling, a loudness short of the target after heavy
limiting), encode again with the ceiling or the gain corrected (`core.loudness.adjust`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from vidgen_assets.core.loudness import MAX_PASSES, Finish, Loudness, adjust, finish_for
from vidgen_assets.media import commands
from vidgen_assets.media.files import atomic_output
from vidgen_assets.media.runner import MediaError, run

_SUMMARY = re.compile(
    r"Summary:.*?I:\s+(?P<i>-?(?:inf|[\d.]+)) LUFS.*?LRA:\s+(?P<lra>-?(?:inf|[\d.]+)) LU"
    r".*?Peak:\s+(?P<tp>-?(?:inf|[\d.]+)) dBFS",
    re.DOTALL,
)


def measure(path: Path) -> Loudness:
    """The integrated loudness (LUFS), loudness range (LU) and true peak (dBTP) of `path`'s audio, as
    ffmpeg's `ebur128` meter reports them (to 0.1)."""
    args = commands.loudness_analysis(path)
    log = run(args)
    found = list(_SUMMARY.finditer(log))
    if not found:
        raise MediaError(f"ffmpeg reported no loudness for {path}", args, log)
    last = found[-1]
    return Loudness(integrated_lufs=float(last["i"]), range_lu=float(last["lra"]), true_peak_dbtp=float(last["tp"]))


@dataclass(frozen=True)
class Finished:
    """A finished mix: what the mix measured, what was applied, what the delivered file measures."""

    mix: Loudness
    applied: Finish
    delivered: Loudness
    passes: int

    def as_record(self, loudness: float, true_peak: float) -> dict[str, object]:
        return {
            "target": {"integrated_lufs": loudness, "true_peak_dbtp": true_peak},
            "mix": self.mix.as_record(),
            "gain_db": self.applied.gain_db,
            "limiter_ceiling_dbtp": self.applied.ceiling_dbtp if self.applied.limit else None,
            "delivered": self.delivered.as_record(),
            "encodes": self.passes,
        }


def finish(mix: Path, out: Path, loudness: float, true_peak: float, total_frames: int, fps: int) -> Finished:
    """Encode `mix` (a WAV) as the deliverable's AAC `out` at `loudness` LUFS with true peaks at or under
    `true_peak` dBTP, exactly `total_frames / fps` seconds (written atomically)."""
    measured = measure(mix)
    applied = finish_for(measured, loudness, true_peak)
    passes = 0
    before: tuple[Finish, Loudness] | None = None
    with atomic_output(out) as tmp:
        while True:
            passes += 1
            run(
                commands.finish_audio(mix, tmp, applied.gain_db, applied.ceiling_dbtp, applied.limit, total_frames, fps)
            )
            delivered = measure(tmp)
            again = adjust(applied, delivered, loudness, true_peak, before) if passes < MAX_PASSES else None
            if again is None:
                break
            before, applied = (applied, delivered), again
    return Finished(measured, applied, delivered, passes)
