"""The voiceover's mix with real ffmpeg on real audio: ducking, placement, limiting, exact length."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from vidgen_assets.backends import espeak
from vidgen_assets.media import ops, probe, sound

RATE = 48000
TARGET = (-14.0, -1.0)
"""The default loudness target (`audio`): LUFS, dBTP."""
TONE_HZ = 12000
"""The music stand-in: a tone above everything espeak-ng makes (it synthesizes at 22.05 kHz, so nothing
reaches 11.025 kHz), so its level can be read in the mix while the voice speaks."""


def decode(path: Path) -> npt.NDArray[np.float64]:
    """The first channel of an audio file, as floats in [-1, 1] at 48 kHz."""
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="s16", layout="stereo", rate=RATE)
        chunks = []
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1, 2)[:, 0])
    return np.concatenate(chunks).astype(np.float64) / 32768


def tone(path: Path, seconds: float, level: float) -> Path:
    t = np.arange(round(seconds * RATE)) / RATE
    samples = (level * np.sin(2 * np.pi * TONE_HZ * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.repeat(samples, 2).tobytes())
    return path


def band_rms(signal: npt.NDArray[np.float64], start_s: float, end_s: float, hz: float = TONE_HZ) -> float:
    """RMS of `signal` within 300 Hz of `hz` over [start_s, end_s) (an FFT band-pass)."""
    part = signal[round(start_s * RATE) : round(end_s * RATE)]
    spectrum = np.fft.rfft(part)
    freqs = np.fft.rfftfreq(len(part), 1 / RATE)
    spectrum[np.abs(freqs - hz) > 300] = 0
    return float(np.sqrt(np.mean(np.fft.irfft(spectrum, len(part)) ** 2)))


def speech_clip(tmp_path: Path, text: str, name: str) -> tuple[Path, float]:
    raw = tmp_path / f"{name}.raw.wav"
    espeak.synthesize(text, "narrator").write_wav(raw)
    clip = tmp_path / f"{name}.wav"
    info = ops.fit_speech(raw, clip)
    return clip, info.audio_duration_s or 0.0


def test_music_ducks_under_the_voice_and_comes_back(tmp_path):
    music = tone(tmp_path / "music.wav", 8, 0.3)
    clip, spoken = speech_clip(tmp_path, "Steeped for twenty hours, then poured over ice.", "line")
    assert 1.5 < spoken < 4
    out = tmp_path / "soundtrack.m4a"
    info, _ = ops.soundtrack(music, 1.0, (0.0, 0.0), [sound.Placed(clip, 48)], 1.0, 192, 24, out, TARGET)  # at 2 s
    assert abs((info.audio_duration_s or 0) - 8.0) <= 1024 / RATE
    mix = decode(out)
    before = band_rms(mix, 0.5, 1.8)
    during = band_rms(mix, 2.6, 2.0 + spoken - 0.2)
    after = band_rms(mix, 2.0 + spoken + 1.5, 7.5)
    assert before > 0.05  # the bed is there
    assert during < before * 0.35  # ducked by more than 9 dB while the line is spoken (measured: ~15 dB)
    assert after > before * 0.85  # and back once it ends


def test_voice_lines_land_at_their_starts_and_the_mix_never_clips(tmp_path):
    music = tone(tmp_path / "music.wav", 6, 0.9)
    first, first_s = speech_clip(tmp_path, "One.", "a")
    second, _ = speech_clip(tmp_path, "And two, loud and clear.", "b")
    out = tmp_path / "soundtrack.m4a"
    lines = [sound.Placed(first, 12), sound.Placed(second, 72)]
    ops.soundtrack(music, 2.0, (0.5, 1.0), lines, 2.0, 144, 24, out, TARGET)
    mix = decode(out)
    assert abs(len(mix) / RATE - 6.0) < 0.03
    assert np.max(np.abs(mix)) < 10 ** (TARGET[1] / 20)  # the peaks stay under the true-peak ceiling
    # Speech energy around 1 kHz: none before the first line starts at 0.5 s, then each line in place.
    assert band_rms(mix, 0.05, 0.45, 1000) < 0.01
    assert band_rms(mix, 0.55, 0.5 + first_s, 1000) > 0.01
    assert band_rms(mix, 3.05, 4.0, 1000) > 0.01  # the second line, from 3 s


def test_a_long_clip_is_sped_up_with_its_pitch_kept(tmp_path):
    raw = tmp_path / "raw.wav"
    espeak.synthesize("A line that is a little too long for its beat.", "narrator").write_wav(raw)
    before = probe.probe(raw).audio_duration_s or 0
    info = ops.fit_speech(raw, tmp_path / "fast.wav", 1.2)
    assert info.audio_sample_rate == 48000
    assert abs((info.audio_duration_s or 0) - before / 1.2) < 0.03


def test_voice_alone_without_music(tmp_path):
    clip, _ = speech_clip(tmp_path, "No music here.", "a")
    info, _ = ops.soundtrack(None, 0.0, (1.0, 2.0), [sound.Placed(clip, 0)], 1.0, 120, 24, tmp_path / "s.m4a", TARGET)
    assert abs((info.audio_duration_s or 0) - 5.0) <= 1024 / RATE and info.audio_codec == "aac"
