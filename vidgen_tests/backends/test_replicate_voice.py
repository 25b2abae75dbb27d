"""Speech from a text-to-speech model on Replicate, against the fake API: inputs, cost, cache, estimate."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from vidgen_assets import voiceover
from vidgen_assets.backends.estimate import estimate_plan
from vidgen_assets.backends.registry import REGISTRY
from vidgen_assets.backends.replicate import Limits, ReplicateBackend, ReplicateFailed, RetryPolicy
from vidgen_assets.backends.selection import select_models
from vidgen_assets.backends.voices import voice_errors
from vidgen_assets.core.generation import SpeechRequest
from vidgen_assets.core.planner import plan_spec
from vidgen_assets.core.spec import parse_spec
from vidgen_assets.media import probe
from vidgen_assets.storage.store import LocalStore
from vidgen_tests.fakes import FakeReplicate

TTS = "minimax/speech-02-turbo"
FAST = RetryPolicy(attempts=3, base_s=0.01, cap_s=0.05, total_s=5.0, prediction_attempts=2, prediction_timeout_s=10)
LINE = '"Don\'t" stop:\n100% שלום 😀'


def backend(fake: FakeReplicate, data: Path, models: dict[str, str] | None = None) -> ReplicateBackend:
    return ReplicateBackend(select_models(models or {}), fake.token, store=LocalStore(data), base_url=fake.url,
                            retry=FAST, limits=Limits(connect_s=5, read_s=10, download_s=20))  # fmt: skip


def request(text: str = LINE, voice: str = "narrator") -> SpeechRequest:
    return SpeechRequest(video_id="v", beat_index=1, text=text, voice=voice, speed=1.1, max_seconds=4.75, seed=1)


def test_speech_is_sent_costed_per_character_then_cached(replicate_env, tmp_path):
    fake = replicate_env
    b = backend(fake, tmp_path / "data")
    gen = b.speech(request(), tmp_path / "line_01.wav")
    sent = fake.creates[0][1]
    assert (sent["text"], sent["voice_id"], sent["speed"], sent["audio_format"]) == (LINE, "Wise_Woman", 1.1, "wav")
    # $0.06 per 1,000 characters, for the line as sent (quotes, newline, emoji and Hebrew count as written).
    assert Decimal(str(gen.cost_usd)) == Decimal("0.00006") * len(LINE)
    assert (gen.model, gen.extra["cache"], gen.extra["voice"]) == (TTS, "miss", "Wise_Woman")
    info = probe.probe(tmp_path / "line_01.wav")
    assert info.audio_sample_rate == 32000 and abs((info.audio_duration_s or 0) - len(LINE) / 15 / 1.1) < 0.01

    before = len(fake.requests)
    again = b.speech(request(), tmp_path / "again.wav")
    assert (again.cache_hit, again.cost_usd, again.extra["cache"]) == (True, 0.0, "hit")
    assert len(fake.requests) == before and fake.create_count(TTS) == 1
    assert b.spent == Decimal("0.00006") * len(LINE)


def test_voice_names_map_to_the_model(replicate_env, tmp_path):
    fake = replicate_env
    b = backend(fake, tmp_path / "data", {"voice": "jaaari/kokoro-82m"})
    gen = b.speech(request("Hello there.", "bm_george"), tmp_path / "a.wav")
    assert fake.creates[0][1] == {"text": "Hello there.", "voice": "bm_george", "speed": 1.1}
    assert Decimal(str(gen.cost_usd)) == REGISTRY["jaaari/kokoro-82m"].price.usd
    with pytest.raises(ReplicateFailed, match="has no voice 'Wise_Woman'; known: af_bella"):
        b.speech(request("Hello.", "Wise_Woman"), tmp_path / "b.wav")


def test_unknown_voice_is_a_field_error_for_the_spec():
    spec = parse_spec({"id": "v", "prompt": "p", "backend": "replicate", "voice": {"voice": "af_bella"},
                       "beats": [{"name": "a", "duration": 5, "prompt": "x", "say": "hi"}]})  # fmt: skip
    (error,) = voice_errors(spec)
    assert error.path == "voice.voice"
    assert error.message.startswith("unknown voice 'af_bella' for backend replicate; allowed: narrator, Wise_Woman")


def test_the_voice_stage_costs_what_the_estimate_says(replicate_env, tmp_path):
    fake = replicate_env
    spec = parse_spec(
        {
            "id": "ad",
            "prompt": "p",
            "duration": 10,
            "backend": "replicate",
            "beats": [
                {"name": "a", "duration": 5, "prompt": "x", "say": "Steeped for twenty hours."},
                {"name": "b", "duration": 5, "prompt": "y", "say": LINE},
            ],
        }
    )
    plan = plan_spec(spec, 5.0)
    estimate = estimate_plan(plan, prices={})
    (voice_line,) = [line for line in estimate.lines if line.stage == "voice"]
    assert (voice_line.model, voice_line.calls) == (TTS, 2)
    assert voice_line.usd == Decimal("0.00006") * (len("Steeped for twenty hours.") + len(LINE))
    store = LocalStore(tmp_path / "data")
    out = voiceover.voice(plan, backend(fake, tmp_path / "data"), store, tmp_path / "s")
    assert Decimal(str(out.record["cost_usd"])) == voice_line.usd
    assert fake.create_count(TTS) == 2
    record = json.loads((tmp_path / "data" / "videos" / "ad" / "voice" / "line_01.json").read_text())
    assert record["generation"]["cache"] == "miss" and record["text"] == LINE
