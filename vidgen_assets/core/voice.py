"""Voiceover rules, pure: how a spoken line is fitted into its beat, and the subtitle cues it gives.

A line starts at its `VoiceLine.start_frame` and may not run past its beat's end. A clip that is too
long is sped up (ffmpeg `atempo`, pitch kept) by at most `MAX_SPEEDUP`; a clip that needs more fails
with a message naming the beat and both lengths. Cues are timed from each clip's measured length.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vidgen_assets.core.plan import Plan, VoiceLine

NARRATOR = "narrator"
"""The default voice name: each speech engine maps it to its own default voice."""
MAX_SPEEDUP = 1.25
CHARS_PER_SECOND = 15.0
"""Speaking rate used to estimate a line's length when it cannot be measured before the render
(a model backend): about 150 words a minute."""


class LineTooLong(ValueError):
    """A line cannot be fitted into its beat even sped up by `MAX_SPEEDUP`."""


def line_seconds(plan: Plan, line: VoiceLine) -> float:
    """The most a line may last: from its start to its beat's end."""
    return line.max_frames / plan.fps


def estimate_seconds(text: str, speed: float = 1.0) -> float:
    """A line's spoken length estimated from its characters."""
    return len(text.strip()) / CHARS_PER_SECOND / speed


def tempo(spoken_s: float, max_s: float) -> float:
    """The speed-up (1.0 = none) that fits `spoken_s` of speech into `max_s`; `LineTooLong` if over the bound."""
    if spoken_s <= max_s:
        return 1.0
    needed = spoken_s / max_s
    if needed > MAX_SPEEDUP:
        raise LineTooLong(f"needs {needed:.2f}x, over the {MAX_SPEEDUP}x bound")
    # Round up to the next thousandth so the sped-up clip is never longer than the room.
    return math.ceil(needed * 1000) / 1000


def fit_message(plan: Plan, line: VoiceLine, spoken_s: float) -> str:
    """Why a line does not fit: its beat, its length, the room, the bound."""
    beat = plan.beats[line.beat_index]
    room = line_seconds(plan, line)
    return (
        f"beats[{beat.index}].say ({beat.name!r}): the line lasts {spoken_s:.2f} s spoken but its beat leaves "
        f"{room:.2f} s from its start ({line.start_frame / plan.fps:.2f} s) to the beat's end "
        f"({line.end_frame / plan.fps:.2f} s); even {MAX_SPEEDUP}x faster it needs {spoken_s / MAX_SPEEDUP:.2f} s. "
        "Shorten the line, lengthen the beat or raise voice.speed"
    )


def check_fit(plan: Plan, line: VoiceLine, spoken_s: float) -> float:
    """`tempo` for the line, with `fit_message` when it cannot fit."""
    try:
        return tempo(spoken_s, line_seconds(plan, line))
    except LineTooLong:
        raise LineTooLong(fit_message(plan, line, spoken_s)) from None


@dataclass(frozen=True)
class Cue:
    """One subtitle cue: a line's text from its start for its measured length (seconds)."""

    index: int
    start_s: float
    end_s: float
    text: str


def cue(plan: Plan, line: VoiceLine, spoken_s: float, index: int) -> Cue:
    """The cue of a line whose fitted clip lasts `spoken_s`: never past the beat's end."""
    start = line.start_frame / plan.fps
    end = min(start + spoken_s, line.end_frame / plan.fps)
    return Cue(index, round(start, 3), round(end, 3), line.text)


def cues(plan: Plan, spoken: Sequence[Mapping[str, Any]]) -> list[Cue]:
    """The subtitle cues of the voice stage's lines (its record's `lines`: each line's `key` and measured
    `spoken_s`): from each line's start for its measured length."""
    lines = {line.key: line for line in plan.voice_lines}
    out = []
    for i, summary in enumerate(spoken):
        line = lines.get(str(summary["key"]))
        if line is not None:
            out.append(cue(plan, line, float(summary["spoken_s"]), i))
    return out
