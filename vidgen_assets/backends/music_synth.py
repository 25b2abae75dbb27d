"""A small deterministic music-bed synthesiser: numpy in, 48 kHz stereo 16-bit WAV out.

The bed has a soft kick on every beat at the requested tempo, a chord pad whose harmony follows the mood
(major for upbeat moods, minor for sad or dark ones, suspended and slow for calm ones) and, for energetic
moods, hi-hats on the off-beats. It is normalised to a -3 dBFS peak. The seed picks the key and the
hi-hat noise; the same request and seed always give the same bytes.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 48_000
CHANNELS = 2
PEAK_DBFS = -3.0
Harmony = Literal["major", "minor", "calm"]
FloatArray = npt.NDArray[np.float64]
MixArray = npt.NDArray[np.float32]

_MAJOR_WORDS = (
    "upbeat", "happy", "energetic", "uplifting", "bright", "joy", "cheer", "fun", "playful", "positive",
    "triumph", "epic", "inspir", "exciting", "hopeful", "confident", "bold", "festive", "sunny", "warm",
)  # fmt: skip
_MINOR_WORDS = (
    "sad", "melanchol", "dark", "moody", "tense", "dramatic", "somber", "sombre", "mysterious", "suspense",
    "serious", "emotional", "gloomy", "ominous", "noir", "tragic", "nostalg", "haunting", "cold",
)  # fmt: skip
_CALM_WORDS = (
    "calm", "ambient", "relax", "chill", "peace", "serene", "soft", "dream", "gentle", "lofi", "lo-fi",
    "meditat", "quiet", "tranquil", "minimal", "airy", "soothing", "slow",
)  # fmt: skip
_ENERGETIC_WORDS = (
    "upbeat",
    "energetic",
    "exciting",
    "epic",
    "fun",
    "playful",
    "festive",
    "dance",
    "driving",
)

# Chords as semitone offsets from the key's root; one chord per `bars_per_chord` bars of 4 beats.
_PROGRESSIONS: dict[Harmony, tuple[tuple[int, ...], ...]] = {
    "major": ((0, 4, 7, 12), (7, 11, 14, 19), (9, 12, 16, 21), (5, 9, 12, 17)),  # I  V  vi IV
    "minor": ((0, 3, 7, 12), (8, 12, 15, 20), (3, 7, 10, 15), (10, 14, 17, 22)),  # i  VI III VII
    "calm": ((0, 2, 7, 14), (5, 7, 12, 19), (-3, 2, 7, 12), (5, 10, 12, 17)),  # sus2 / sus4 voicings
}
_NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@dataclass(frozen=True)
class MusicStyle:
    """What the mood decides: harmony, how busy the rhythm is, and how loud each layer is."""

    harmony: Harmony
    hats: bool
    bars_per_chord: int
    kick_gain: float
    pad_gain: float


def style_for_mood(mood: str) -> MusicStyle:
    """Map a free-text mood to a style by keywords; unknown moods get a gentle major bed."""
    text = mood.lower()
    if any(word in text for word in _MINOR_WORDS):
        harmony: Harmony = "minor"
    elif any(word in text for word in _CALM_WORDS):
        harmony = "calm"
    else:
        harmony = "major"
    energetic = harmony == "major" and any(word in text for word in _ENERGETIC_WORDS)
    if harmony == "calm":
        return MusicStyle("calm", hats=False, bars_per_chord=2, kick_gain=0.7, pad_gain=0.45)
    if harmony == "minor":
        return MusicStyle("minor", hats=False, bars_per_chord=1, kick_gain=0.8, pad_gain=0.45)
    return MusicStyle("major", hats=energetic, bars_per_chord=1, kick_gain=0.9, pad_gain=0.4)


def seed_int(*parts: object) -> int:
    """A stable 64-bit integer from `parts` (Python's `hash` is salted per process)."""
    key = "\x1f".join(str(p) for p in parts).encode("utf-8", "replace")
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big")


def sample_count(seconds: float) -> int:
    """Samples in `seconds` at 48 kHz."""
    return round(seconds * SAMPLE_RATE)


def beat_samples(bpm: float, count: int) -> list[int]:
    """Sample positions of the beats that start inside `count` samples."""
    period = 60.0 * SAMPLE_RATE / bpm
    return [round(k * period) for k in range(math.ceil(count / period) + 1) if round(k * period) < count]


def synthesize(mood: str, bpm: float, seconds: float, seed: int) -> tuple[MixArray, dict[str, str]]:
    """The music bed as float32 of shape (samples, 2) in [-1, 1], plus a description."""
    if bpm <= 0 or not math.isfinite(bpm):
        raise ValueError(f"bpm must be positive, got {bpm}")
    if seconds < 0 or not math.isfinite(seconds):
        raise ValueError(f"seconds must be >= 0, got {seconds}")
    style = style_for_mood(mood)
    count = sample_count(seconds)
    rng = np.random.default_rng(seed_int("music", mood, bpm, seed))
    root_midi = 45 + int(rng.integers(0, 8))  # A2 .. E3
    mix = np.zeros((count, CHANNELS), dtype=np.float32)
    if count == 0:
        return mix, _describe(style, root_midi, bpm)

    beats = beat_samples(bpm, count)
    phases = rng.uniform(0.0, 2 * np.pi, size=8)
    _add_pad(mix, style, root_midi, bpm, phases)
    _duck(mix, beats, depth=0.35 if style.harmony == "calm" else 0.5)
    _add_kicks(mix, style, bpm, beats)
    if style.hats:
        _add_hats(mix, bpm, beats, rng)
    _fade(mix)

    peak = max(float(mix.max()), -float(mix.min()))
    if peak > 0:
        mix *= np.float32(10 ** (PEAK_DBFS / 20) / peak)
    return mix, _describe(style, root_midi, bpm)


def write_wav(samples: MixArray | FloatArray, out: Path) -> None:
    """Write (samples, 2) floats in [-1, 1] as a 48 kHz stereo 16-bit WAV, atomically."""
    pcm = np.clip(np.rint(samples * np.float32(32767.0)), -32768, 32767).astype("<i2")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}.", suffix=".tmp.wav")
    os.close(fd)
    try:
        with wave.open(tmp_name, "wb") as wav:
            wav.setnchannels(CHANNELS)
            wav.setsampwidth(2)
            wav.setframerate(SAMPLE_RATE)
            wav.writeframes(pcm.tobytes())
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------------------------------------- layers


def _midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _add_pad(mix: MixArray, style: MusicStyle, root_midi: int, bpm: float, phases: FloatArray) -> None:
    """One chord per `bars_per_chord` bars, each with soft attack and release so chords cross-fade.

    Every chord restarts its oscillators, so each chord of the progression is synthesised once and reused.
    """
    count = mix.shape[0]
    chord_len = 60.0 * SAMPLE_RATE / bpm * 4 * style.bars_per_chord
    progression = _PROGRESSIONS[style.harmony]
    overlap = int(min(0.25 * chord_len, 0.4 * SAMPLE_RATE))
    attack = max(1, int(min(0.35 * chord_len, (1.2 if style.harmony == "calm" else 0.25) * SAMPLE_RATE)))
    longest = min(count, math.ceil(chord_len) + 1 + overlap)
    rise = np.linspace(0.0, 1.0, attack, endpoint=False) ** 2
    fall = np.linspace(1.0, 0.0, overlap) ** 2 if overlap > 0 else np.ones(0)
    voices: dict[int, MixArray] = {}
    for k in range(math.ceil(count / chord_len)):
        start = round(k * chord_len)
        stop = min(count, round((k + 1) * chord_len) + overlap)
        if start >= count:
            break
        which = k % len(progression)
        if which not in voices:
            voices[which] = _chord_wave(progression[which], style, root_midi, longest, phases)
        segment = voices[which][: stop - start].copy()
        n = segment.shape[0]
        a = min(attack, n)
        segment[:a] *= rise[:a, None]
        r = min(overlap, n)
        if r > 0 and stop < count:
            segment[n - r :] *= fall[-r:, None]
        mix[start:stop] += segment


def _chord_wave(chord: tuple[int, ...], style: MusicStyle, root_midi: int, length: int, phases: FloatArray) -> MixArray:
    """A chord's stereo pad (slightly detuned left and right, three harmonics per voice) plus its bass."""
    t = np.arange(length, dtype=np.float64) / SAMPLE_RATE
    wave_out = np.zeros((length, CHANNELS))
    scale = style.pad_gain / (len(chord) * 1.33)
    for voice, offset in enumerate(chord):
        hz = _midi_hz(root_midi + 12 + offset)  # pads sit an octave above the key's bass root
        for channel, detune in enumerate((0.9985, 1.0015)):
            phase = 2 * np.pi * hz * detune * t + phases[voice % phases.size]
            wave_out[:, channel] += scale * (np.sin(phase) + 0.25 * np.sin(2 * phase) + 0.08 * np.sin(3 * phase))
    bass_hz = _midi_hz(root_midi - 12 + chord[0] % 12)
    wave_out += (0.4 * style.pad_gain * np.sin(2 * np.pi * bass_hz * t))[:, None]
    return wave_out.astype(np.float32)


def _duck(mix: MixArray, beats: list[int], depth: float) -> None:
    """Side-chain style pumping: the pad dips at every beat and swells back, so the pulse carries."""
    count = mix.shape[0]
    gain = np.ones(count, dtype=np.float32)
    release = round(0.5 * SAMPLE_RATE)
    dip = 1.0 - depth * np.exp(-np.arange(release) / (0.12 * SAMPLE_RATE))
    attack = round(0.005 * SAMPLE_RATE)  # a 5 ms ramp down: no click
    dip[:attack] = np.linspace(1.0, dip[attack], attack, endpoint=False)
    curve = dip.astype(np.float32)
    for position in beats:
        stop = min(count, position + release)
        gain[position:stop] = np.minimum(gain[position:stop], curve[: stop - position])
    mix *= gain[:, None]


def _kick(length: int) -> FloatArray:
    """A soft kick: a sine sweeping 110 -> 45 Hz with a fast attack and an exponential decay."""
    t = np.arange(length, dtype=np.float64) / SAMPLE_RATE
    freq = 45.0 + 65.0 * np.exp(-t / 0.03)
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE
    attack = np.minimum(1.0, t / 0.002)
    result: FloatArray = np.sin(phase) * np.exp(-t / 0.09) * attack
    return result


def _add_kicks(mix: MixArray, style: MusicStyle, bpm: float, beats: list[int]) -> None:
    period = round(60.0 * SAMPLE_RATE / bpm)
    kick = _kick(min(period, round(0.35 * SAMPLE_RATE))) * (1.6 * style.kick_gain)
    count = mix.shape[0]
    for index, position in enumerate(beats):
        accent = 1.0 if index % 4 == 0 else 0.8
        stop = min(count, position + kick.size)
        mix[position:stop] += (kick[: stop - position] * accent)[:, None]


def _add_hats(mix: MixArray, bpm: float, beats: list[int], rng: np.random.Generator) -> None:
    """Short high-passed noise bursts half-way between beats, panned slightly apart."""
    period = 60.0 * SAMPLE_RATE / bpm
    length = min(round(0.06 * SAMPLE_RATE), round(period / 2))
    t = np.arange(length, dtype=np.float64) / SAMPLE_RATE
    envelope = np.exp(-t / 0.012) * 0.22
    count = mix.shape[0]
    for index, beat in enumerate(beats):
        position = beat + round(period / 2)
        if position >= count:
            break
        noise = rng.standard_normal(length + 1)
        hat = np.diff(noise) * envelope  # first difference: a crude high-pass
        stop = min(count, position + length)
        pan = 0.35 if index % 2 else -0.35
        mix[position:stop, 0] += hat[: stop - position] * (1 - pan)
        mix[position:stop, 1] += hat[: stop - position] * (1 + pan)


def _fade(mix: MixArray) -> None:
    """A 10 ms fade-in and a fade-out over the last second (or quarter of the bed): no clicks at the ends."""
    count = mix.shape[0]
    fade_in = min(count, round(0.01 * SAMPLE_RATE))
    mix[:fade_in] *= np.linspace(0.0, 1.0, fade_in)[:, None]
    fade_out = min(count, round(min(1.0, count / SAMPLE_RATE / 4) * SAMPLE_RATE))
    if fade_out > 0:
        mix[count - fade_out :] *= np.linspace(1.0, 0.0, fade_out)[:, None] ** 1.5


def _describe(style: MusicStyle, root_midi: int, bpm: float) -> dict[str, str]:
    return {
        "harmony": style.harmony,
        "key": _NOTE_NAMES[root_midi % 12] + ("m" if style.harmony == "minor" else ""),
        "bpm": f"{bpm:g}",
        "hats": str(style.hats).lower(),
        "root_midi": str(root_midi),
    }
