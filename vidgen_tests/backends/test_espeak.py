"""The local speech engine (espeak-ng from the espeakng-loader wheel): real synthesized speech."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from vidgen_assets.backends import espeak
from vidgen_assets.backends.animatic import AnimaticBackend
from vidgen_assets.core.generation import SpeechRequest

ODD = '"Don\'t" stop:\n100% שלום 😀 — مرحبا'


def rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64) / 32768
    return float(np.sqrt(np.mean(samples**2)))


def test_speech_is_real_audio_with_word_timings():
    speech = espeak.synthesize("Steeped for twenty hours.", "narrator")
    assert speech.rate == 22050
    assert 0.8 < speech.seconds < 3.0
    assert rms(speech.pcm) > 0.02  # speech, not silence
    assert [w.text for w in speech.words] == ["Steeped", "for", "twenty", "hours"]
    starts = [w.start_s for w in speech.words]
    assert starts == sorted(starts) and starts[0] < 0.2 and starts[-1] < speech.seconds


def test_speed_and_voice_change_the_speech():
    slow = espeak.synthesize("The quick brown fox jumps over the lazy dog.", "en-us", 1.0)
    fast = espeak.synthesize("The quick brown fox jumps over the lazy dog.", "en-us", 1.5)
    assert fast.seconds < slow.seconds * 0.8
    other = espeak.synthesize("The quick brown fox jumps over the lazy dog.", "en-gb+f3", 1.0)
    assert other.pcm != slow.pcm


def test_quotes_newlines_emoji_and_rtl_reach_the_engine():
    speech = espeak.synthesize(ODD, "narrator")
    assert speech.seconds > 1.0 and rms(speech.pcm) > 0.02
    # Word events point into the text as written: the quoted word and the number are found intact.
    spoken = [w.text for w in speech.words]
    assert "Don't" in spoken[0] and "100" in "".join(spoken)


def test_voices_and_unknown_names():
    names = espeak.voices()
    assert names[:2] == ("narrator", "en-us") and "fr-fr" in names and "de" in names
    assert espeak.resolve_voice("narrator") == "gmw/en-US"
    assert espeak.resolve_voice("en-gb+m3") == "gmw/en+m3"
    assert espeak.resolve_voice("klingon") is None and espeak.resolve_voice("en-us+nobody") is None
    with pytest.raises(espeak.SpeechEngineError, match="no voice 'klingon'"):
        espeak.synthesize("hi", "klingon")


def test_animatic_backend_writes_a_mono_wav(tmp_path):
    out = tmp_path / "line_00.wav"
    request = SpeechRequest(video_id="v", beat_index=0, text=ODD, voice="narrator", speed=1.0, max_seconds=5, seed=0)
    gen = AnimaticBackend().speech(request, out)
    with wave.open(str(out)) as handle:
        assert (handle.getnchannels(), handle.getsampwidth(), handle.getframerate()) == (1, 2, 22050)
        assert handle.getnframes() > 22050
    assert (gen.model, gen.cost_usd, gen.extra["voice"]) == ("espeak-ng-1.52", 0.0, "narrator (gmw/en-US)")
    assert not list(tmp_path.glob(".*"))  # written atomically: no temporary file left
