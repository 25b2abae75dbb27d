"""Make the example's own music track: a drum-and-bass loop synthesised from numbers (no samples, no
recordings), encoded to AAC in M4A with the bundled ffmpeg. Its license is CC0 (vidgen's authors made
it with this script; no one else's work is in it).

    .venv/bin/python scripts/make_beat_loop.py examples/specs/music/beat-loop.m4a

At `BPM` with the first beat at `FIRST_BEAT_S` (a pickup before it): a kick on every beat, a snare on 2
and 4, closed hi-hats on the eighths, a bass note on each beat, over a quiet chord. The beat times are
`FIRST_BEAT_S + k * 60 / BPM`, which the tests compare with what the beat tracker finds.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import numpy.typing as npt

RATE = 44100
BPM = 105.0
FIRST_BEAT_S = 0.3
SECONDS = 12.5
Samples = npt.NDArray[np.float64]


def beat_times(bpm: float = BPM, first: float = FIRST_BEAT_S, seconds: float = SECONDS) -> list[float]:
    """Every beat of the loop (seconds)."""
    period = 60.0 / bpm
    return [first + k * period for k in range(int((seconds - first) / period) + 1) if first + k * period < seconds]


def _env(n: int, decay_s: float) -> Samples:
    return np.exp(-np.arange(n) / (decay_s * RATE))


def kick() -> Samples:
    n = int(0.25 * RATE)
    t = np.arange(n) / RATE
    sweep = 2 * np.pi * np.cumsum(45 + 110 * np.exp(-t / 0.03)) / RATE  # a pitch drop, 155 -> 45 Hz
    return np.sin(sweep) * _env(n, 0.08)


def snare(rng: np.random.Generator) -> Samples:
    n = int(0.18 * RATE)
    t = np.arange(n) / RATE
    return 0.5 * rng.standard_normal(n) * _env(n, 0.04) + 0.3 * np.sin(2 * np.pi * 190 * t) * _env(n, 0.03)


def hat(rng: np.random.Generator) -> Samples:
    n = int(0.05 * RATE)
    noise = rng.standard_normal(n)
    return 0.25 * np.diff(noise, prepend=0.0) * _env(n, 0.01)  # differenced noise: bright


def bass(hz: float, seconds: float) -> Samples:
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    return 0.35 * np.sin(2 * np.pi * hz * t) * np.minimum(1, t / 0.01) * _env(n, 0.25)


def loop(bpm: float = BPM, first: float = FIRST_BEAT_S, seconds: float = SECONDS, seed: int = 7) -> Samples:
    """The loop as stereo float samples (n, 2) in -1..1."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * RATE) + RATE)
    period = 60.0 / bpm

    def add(at_s: float, sound: Samples, gain: float = 1.0) -> None:
        start = round(at_s * RATE)
        if 0 <= start < out.size:
            end = min(out.size, start + sound.size)
            out[start:end] += gain * sound[: end - start]

    notes = (55.0, 55.0, 65.41, 49.0)  # A1 A1 C2 G1, one per beat of the bar
    for k, at in enumerate(beat_times(bpm, first, seconds)):
        add(at, kick(), 0.9)
        add(at, bass(notes[k % 4], period))
        if k % 2 == 1:
            add(at, snare(rng), 0.8)
        add(at, hat(rng), 0.6)
        add(at + period / 2, hat(rng), 0.4)
    add(first - period / 2, hat(rng), 0.4)  # the pickup
    t = np.arange(out.size) / RATE
    chord = sum(np.sin(2 * np.pi * hz * t) for hz in (220.0, 261.63, 329.63)) * 0.03
    out = (out + chord)[: int(seconds * RATE)]
    fade = np.minimum(1, np.minimum(t[: out.size] / 0.02, (seconds - t[: out.size]) / 0.3))
    out = out * fade / max(1e-9, float(np.max(np.abs(out)))) * 0.8
    return np.stack([out, out * 0.95], axis=1)


def write_wav(path: Path, samples: Samples) -> Path:
    data = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(samples.shape[1])
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(data.tobytes())
    return path


def write_m4a(path: Path, samples: Samples, bitrate: str = "96k") -> Path:
    """The samples as AAC in M4A (`-map_metadata -1 -fflags +bitexact`: the same bytes on every run of
    the same ffmpeg)."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = write_wav(Path(tmp) / "loop.wav", samples)
        ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
        subprocess.run(
            [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav), "-c:a", "aac", "-b:a", bitrate,
             "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact", str(path)],
            check=True,
        )  # fmt: skip
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="an .m4a or .wav file to write")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    samples = loop()
    (write_wav if args.out.suffix == ".wav" else write_m4a)(args.out, samples)
    print(f"{args.out}: {SECONDS:g} s at {BPM:g} bpm, first beat {FIRST_BEAT_S:g} s, {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
