"""Beat tracking of the user's own track (`music: {file: ..., sync: beats}`), with librosa (ISC).

librosa's dynamic-programming tracker (`librosa.beat.beat_track`, Ellis 2007) gives the beats' times;
those times are what the cuts move onto, never tempo x count, which drifts (an exact 120 bpm click
track reads as 117.45 bpm at librosa's default hop: 0.38 s off after 18 s). Its times sit on the onset
envelope's hop grid (256 samples at 22 050 Hz here: 11.6 ms) and a little after the attack, so each beat
is then moved to the nearest attack librosa finds at a finer hop (`onset_detect` with `backtrack`, 64
samples: 2.9 ms) when one is within `REFINE_S`. On click tracks of known tempo (vidgen_tests/media/
test_beats.py) every tracked beat lands within 3 ms of a true beat. A first or last beat whose spacing
is off the track's usual spacing by more than 15% (the tracker's guess at the edge of the audio) is
left out.

Nothing here reaches the network: librosa's example-data downloader (pooch) is used only by
`librosa.example`, which vidgen never calls. librosa is imported on first use (it takes a few seconds,
numba's compiled functions coming from its cache), so only a spec with `sync` and a track pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from statistics import median

import av
import numpy as np
import numpy.typing as npt

RATE = 22050
HOP = 256
FINE_HOP = 64
REFINE_S = 0.06
"""A tracked beat moves to an attack at most this far away (less than a frame at 30 fps)."""
EDGE_TOLERANCE = 0.15


@dataclass(frozen=True)
class TrackedBeats:
    """A track's beats (seconds from its start, ascending) and the tracker's tempo estimate."""

    beats: tuple[float, ...]
    tempo_bpm: float | None


def decode_mono(path: Path, rate: int = RATE) -> npt.NDArray[np.float32]:
    """The whole track as mono float samples at `rate` Hz (PyAV, the bundled ffmpeg's decoders);
    ValueError when it cannot be decoded."""
    try:
        with av.open(str(path)) as container:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            parts = [
                out.to_ndarray().reshape(-1) for frame in container.decode(audio=0) for out in resampler.resample(frame)
            ]
            parts += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    except av.FFmpegError as exc:
        raise ValueError(f"cannot be decoded for beat tracking ({exc})") from None
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)


def refine(beats: npt.NDArray[np.float64], onsets: npt.NDArray[np.float64], within: float = REFINE_S) -> list[float]:
    """Each beat moved to the nearest onset at most `within` seconds away (kept where there is none)."""
    out = []
    for beat in beats:
        if onsets.size:
            nearest = float(onsets[int(np.argmin(np.abs(onsets - beat)))])
            out.append(nearest if abs(nearest - beat) <= within else float(beat))
        else:
            out.append(float(beat))
    return out


def trim_edges(beats: list[float], tolerance: float = EDGE_TOLERANCE) -> list[float]:
    """The beats without a first or last one whose spacing to its neighbour is off the median spacing by
    more than `tolerance` of it (repeated while the new end is off as well)."""
    if len(beats) < 4:
        return beats
    usual = median(b - a for a, b in pairwise(beats))
    kept = list(beats)
    while len(kept) >= 4 and abs((kept[-1] - kept[-2]) - usual) > tolerance * usual:
        kept.pop()
    while len(kept) >= 4 and abs((kept[1] - kept[0]) - usual) > tolerance * usual:
        kept.pop(0)
    return kept


def track_beats(path: Path) -> TrackedBeats:
    """The beats of the audio file at `path`, as tracked (see the module's docstring)."""
    import librosa  # a few seconds to import: only when a track is beat-tracked

    samples = decode_mono(path)
    if samples.size < HOP * 4 or not np.any(samples):
        return TrackedBeats((), None)
    envelope = librosa.onset.onset_strength(y=samples, sr=RATE, hop_length=HOP)
    tempo, times = librosa.beat.beat_track(onset_envelope=envelope, sr=RATE, hop_length=HOP, units="time")
    found = np.asarray(times, dtype=np.float64)
    if found.size == 0:
        return TrackedBeats((), None)
    onsets = np.asarray(
        librosa.onset.onset_detect(y=samples, sr=RATE, hop_length=FINE_HOP, backtrack=True, units="time"),
        dtype=np.float64,
    )
    beats = trim_edges(sorted(set(refine(found, onsets))))
    bpm = float(np.atleast_1d(tempo)[0])
    return TrackedBeats(tuple(round(b, 4) for b in beats), round(bpm, 2) if bpm > 0 else None)
