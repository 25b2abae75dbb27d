"""Loudness finishing on real audio with real ffmpeg, checked by independent meters: pyloudnorm (ITU-R
BS.1770 integrated loudness) and a 4x-oversampled peak computed here with scipy (true peak)."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pyloudnorm
import pytest
from scipy.signal import resample_poly

from vidgen_assets.core.loudness import TOLERANCE_LU
from vidgen_assets.media import loudness

RATE = 48000
SECONDS = 8
FPS = 24
FRAMES = SECONDS * FPS


def write(path: Path, left: npt.NDArray[np.float64], right: npt.NDArray[np.float64] | None = None) -> Path:
    """A 48 kHz stereo 16-bit WAV of samples in [-1, 1]."""
    both = np.stack([left, left if right is None else right], axis=1)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(both, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def decode(path: Path) -> npt.NDArray[np.float64]:
    """(samples, 2) floats at 48 kHz, as a player decodes the AAC."""
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
        frames = [o.to_ndarray() for f in container.decode(audio=0) for o in resampler.resample(f)]
    return np.asarray(np.concatenate(frames, axis=1).T, dtype=np.float64)


def pyloudnorm_lufs(samples: npt.NDArray[np.float64]) -> float:
    return float(pyloudnorm.Meter(RATE).integrated_loudness(samples))


def true_peak_dbtp(samples: npt.NDArray[np.float64]) -> float:
    """The largest sample of the signal oversampled 4x (BS.1770's true-peak method), in dB."""
    peak = max(float(np.max(np.abs(resample_poly(samples[:, ch], 4, 1)))) for ch in range(samples.shape[1]))
    return 20 * float(np.log10(max(peak, 1e-12)))


def t() -> npt.NDArray[np.float64]:
    return np.arange(SECONDS * RATE) / RATE


def quiet_bed(path: Path) -> Path:
    """Chords and a little noise at about -33 LUFS: a mix that needs about +19 dB for streaming."""
    rng = np.random.default_rng(1)
    chord = sum(np.sin(2 * np.pi * hz * t()) for hz in (220.0, 277.2, 329.6)) / 3
    return write(path, 0.04 * chord + 0.005 * rng.standard_normal(t().size))


def hot_drums(path: Path) -> Path:
    """Clicks at full scale (every 0.25 s, 0.99 peak) over a soft bed: pushing it to -14 LUFS would
    take every click far past 0 dBFS, so the limiter has work to do."""
    bed = 0.02 * np.sin(2 * np.pi * 110 * t())
    clicks = np.zeros_like(bed)
    for start in range(0, clicks.size, RATE // 4):
        n = np.arange(min(480, clicks.size - start))
        clicks[start : start + n.size] = 0.99 * np.exp(-n / 60) * np.sin(2 * np.pi * 2000 * n / RATE)
    return write(path, np.clip(bed + clicks, -0.99, 0.99))


@pytest.mark.parametrize("make", [quiet_bed, hot_drums], ids=["quiet-bed", "hot-drums"])
@pytest.mark.parametrize(("target", "ceiling"), [(-14.0, -1.0), (-23.0, -2.0)], ids=["streaming", "ebu-r128"])
def test_a_mix_is_finished_to_its_loudness_and_true_peak_as_independent_meters_read_them(
    tmp_path: Path, make, target: float, ceiling: float
) -> None:
    mix = make(tmp_path / "mix.wav")
    done = loudness.finish(mix, tmp_path / "out.m4a", target, ceiling, FRAMES, FPS)
    heard = decode(tmp_path / "out.m4a")
    assert abs(heard.shape[0] / RATE - SECONDS) <= 1024 / RATE
    assert abs(pyloudnorm_lufs(heard) - target) <= TOLERANCE_LU
    assert abs(done.delivered.integrated_lufs - target) <= TOLERANCE_LU  # ffmpeg's meter agrees
    assert true_peak_dbtp(heard) <= ceiling + 0.1  # 0.1: the two meters' own difference at 4x
    assert done.delivered.true_peak_dbtp <= ceiling
    assert done.mix.integrated_lufs < target - 5 or target == -23.0  # it really had to be brought up


def test_a_mix_that_needs_no_limiting_keeps_its_dynamics(tmp_path: Path) -> None:
    """One linear gain: a quiet passage and a loud one keep their 12 dB difference."""
    tone = np.sin(2 * np.pi * 440 * t())
    levels = np.where(t() < SECONDS / 2, 10 ** (-30 / 20), 10 ** (-18 / 20))
    done = loudness.finish(write(tmp_path / "two.wav", levels * tone), tmp_path / "two.m4a", -23.0, -1.0, FRAMES, FPS)
    assert not done.applied.limit and done.passes == 1
    heard = decode(tmp_path / "two.m4a")[:, 0]
    half = heard.size // 2

    def rms_db(part: npt.NDArray[np.float64]) -> float:
        return 20 * float(np.log10(np.sqrt(np.mean(part**2))))

    quiet, loud = rms_db(heard[RATE : half - RATE]), rms_db(heard[half + RATE : -RATE])
    assert abs((loud - quiet) - 12.0) < 0.3
    assert abs(loud - (-18 - 3.01 + done.applied.gain_db)) < 0.3  # the gain the first pass measured, applied once


def test_silence_stays_silent(tmp_path: Path) -> None:
    done = loudness.finish(
        write(tmp_path / "s.wav", np.zeros(SECONDS * RATE)), tmp_path / "s.m4a", -14, -1, FRAMES, FPS
    )
    assert done.mix.silent and done.applied.gain_db == 0.0 and done.delivered.silent
    assert float(np.max(np.abs(decode(tmp_path / "s.m4a")))) < 1e-4  # silence, not amplified noise


def test_the_meter_reads_a_file_it_did_not_make(tmp_path: Path) -> None:
    """A -20 dBFS sine (-23.0 LUFS by BS.1770 at 1 kHz in both channels, peak -20 dBTP)."""
    sine = 10 ** (-20 / 20) * np.sin(2 * np.pi * 997 * t())
    measured = loudness.measure(write(tmp_path / "sine.wav", sine))
    assert abs(measured.integrated_lufs - pyloudnorm_lufs(np.stack([sine, sine], axis=1))) <= 0.2
    assert abs(measured.true_peak_dbtp - (-20.0)) <= 0.2
    assert measured.range_lu <= 0.5
