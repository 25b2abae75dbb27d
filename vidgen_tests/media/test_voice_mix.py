"""The music ducks under a voice, and the mix never clips: real ffmpeg on synthesized tones."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from vidgen_assets.media import commands
from vidgen_assets.media.probe import probe
from vidgen_assets.media.runner import run

RATE = 48000
MUSIC_HZ, VOICE_HZ = 440.0, 1500.0
VOICE_FROM, VOICE_TO = 1.5, 2.5  # seconds


def write_tone(path: Path, seconds: float, hz: float, amplitude: float, start: float = 0.0, end: float | None = None):
    t = np.arange(round(seconds * RATE)) / RATE
    on = (t >= start) & (t < (seconds if end is None else end))
    signal = np.where(on, amplitude * np.sin(2 * np.pi * hz * t), 0.0)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)  # stereo, as the mix is (a mono source is spread at -3 dB)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.repeat((signal * 32767).astype("<i2"), 2).tobytes())


def decode(path: Path) -> npt.NDArray[np.float64]:
    """The left channel as floats in [-1, 1] (the mix is 24-bit PCM: a clipped mix would sit at full scale)."""
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
        frames = [out.to_ndarray() for frame in container.decode(audio=0) for out in resampler.resample(frame)]
    return np.asarray(np.concatenate(frames, axis=1)[0], dtype=np.float64)


def level_db(samples: npt.NDArray[np.float64], hz: float, start: float, end: float) -> float:
    """The amplitude of the `hz` component between `start` and `end` seconds, in dBFS."""
    window = samples[round(start * RATE) : round(end * RATE)]
    t = np.arange(window.size) / RATE
    amplitude = 2 * abs(np.mean(window * np.exp(-2j * np.pi * hz * t)))
    return float(20 * np.log10(max(amplitude, 1e-9)))


def test_the_music_ducks_while_the_voice_speaks_and_the_mix_stays_below_full_scale(tmp_path: Path) -> None:
    music, voice, out = tmp_path / "music.wav", tmp_path / "voice.wav", tmp_path / "mix.wav"
    write_tone(music, 4.0, MUSIC_HZ, 0.7)
    write_tone(voice, 4.0, VOICE_HZ, 0.9, VOICE_FROM, VOICE_TO)
    # Voice at 1.6x: 1.44 peak alone, over a 0.7 bed; without the limiter the float mix would reach ~2.
    # The mix as `ops.voice_over_music` makes it, before its loudness is finished (media/test_loudness.py).
    run(commands.voice_over_music(music, voice, out, 1.0, 1.6, 96, 24, 0, 0))
    info = probe(out)
    assert info.audio_duration_s is not None and abs(info.audio_duration_s - 4.0) < 1 / RATE

    mix = decode(out)
    before = level_db(mix, MUSIC_HZ, 0.5, 1.4)
    during = level_db(mix, MUSIC_HZ, VOICE_FROM + 0.2, VOICE_TO - 0.05)
    # The release (DUCK_RELEASE_MS) brings the ~35 dB duck back within about 0.9 s of the line's end.
    after = level_db(mix, MUSIC_HZ, VOICE_TO + 1.0, 3.95)
    assert abs(before - 20 * np.log10(0.7)) < 1.0  # untouched while nobody speaks
    assert during < before - 12  # ducked under the voice
    assert abs(after - before) < 1.5  # and back once the line ends
    # To the very end: the mix once lost its last 0.25 s on a busy machine (a filter's end racing the other
    # input's last frames), silence where the music should be.
    assert abs(level_db(mix, MUSIC_HZ, 3.85, 3.98) - before) < 1.5
    assert level_db(mix, VOICE_HZ, VOICE_FROM + 0.2, VOICE_TO - 0.05) > 20 * np.log10(0.7)  # the voice is on top
    assert level_db(mix, VOICE_HZ, 0.5, 1.4) < -60  # and nowhere else
    peak = float(np.max(np.abs(mix)))
    assert peak < 1.0, f"the mix clips: peak {peak:.3f}"
    assert peak > commands.MIX_LIMIT * 0.9  # limited, not merely quiet
