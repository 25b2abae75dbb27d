"""Cuts on the beat (`music: {sync: beats}`): each beat boundary moved to the nearest beat of the music.

The music's beats are a grid of times: for the animatic's bed, which puts a kick on every beat from its
first sample, exactly `k * 60 / bpm` seconds. Each boundary between two beats of the video moves to the
frame nearest the closest grid time, if that time is at most `MAX_SHIFT_S` away; the first beat still
starts at 0 and the last still ends at the video's end (the video lasts `duration` to the frame). A move
that would leave a beat without a frame, or cross the next boundary, is not made, and the plan says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MAX_SHIFT_S = 0.5


@dataclass(frozen=True)
class Moved:
    """A boundary (the start of beat `index`) moved from `old_frame` to `new_frame`, onto the music's
    beat number `music_beat` (0 at the video's start)."""

    index: int
    old_frame: int
    new_frame: int
    music_beat: int


def beat_grid_s(bpm: float, seconds: float) -> list[float]:
    """The music's beat times up to `seconds` (inclusive): every `60 / bpm` seconds from 0."""
    period = 60.0 / bpm
    return [k * period for k in range(math.floor(seconds / period + 1e-9) + 1)]


def snap_starts(
    starts: Sequence[int], total_frames: int, fps: int, grid_s: Sequence[float], max_shift_s: float = MAX_SHIFT_S
) -> tuple[list[int], list[Moved], list[str]]:
    """The beats' start frames with every boundary after the first on its nearest grid beat (within
    `max_shift_s`), what moved, and a note for each boundary that could not move."""
    new = list(starts)
    moved: list[Moved] = []
    notes: list[str] = []
    for i in range(1, len(starts)):
        at_s = starts[i] / fps
        k, nearest = min(enumerate(grid_s), key=lambda kg: (abs(kg[1] - at_s), kg[0]), default=(-1, math.inf))
        if abs(nearest - at_s) > max_shift_s + 1e-9:
            notes.append(
                f"music sync: beat {i} starts at {at_s:.3f} s, more than {max_shift_s:g} s from a beat of the "
                "music: not moved"
            )
            continue
        frame = round(nearest * fps)
        upper = starts[i + 1] if i + 1 < len(starts) else total_frames
        if frame <= new[i - 1] or frame >= upper:
            notes.append(f"music sync: beat {i} cannot move to {frame / fps:.3f} s without emptying a beat")
            continue
        if frame != starts[i]:
            moved.append(Moved(i, starts[i], frame, k))
        new[i] = frame
    return new, moved, notes
