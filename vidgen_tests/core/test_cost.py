"""Cost: prices, one call's cost, the estimate of a plan, budget refusals, and the LLM planner's checks."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from vidgen_assets.backends.estimate import estimate_plan
from vidgen_assets.backends.prices import load_prices
from vidgen_assets.backends.registry import DEFAULTS, REGISTRY
from vidgen_assets.backends.selection import UnknownModel, chunk_seconds_for, select_models
from vidgen_assets.core.cost import FREE, Price, StageModel, budget_refusal, call_cost, estimate, music_seconds, usd
from vidgen_assets.core.llm_plan import LlmPlanError, build_prompt, parse_beats
from vidgen_assets.core.planner import plan_spec
from vidgen_assets.core.spec import SpecError, parse_spec


def spec(**extra):
    data = {"id": "v", "prompt": "an ad for cold brew", "duration": 15, "fps": 24}
    return parse_spec({**data, **extra})


BEATS = [
    {"name": "a", "duration": 10, "prompt": "x", "transition": "fade"},
    {"name": "b", "duration": 5, "prompt": "y"},
]


def test_call_cost_per_run_and_per_second_is_exact():
    assert call_cost(Price(Decimal("0.003")), 99) == Decimal("0.003")
    assert call_cost(Price(Decimal("0.045"), "second"), Decimal(6)) == Decimal("0.270")
    assert call_cost(Price(Decimal("0.0021"), "second"), 7) == Decimal("0.0147")
    with pytest.raises(ValueError):
        Price(Decimal("-1"))
    assert music_seconds(6.5) == 7 and music_seconds(15.0) == 15 and music_seconds(0.2) == 1


def test_usd_shows_cents_and_sub_cent_amounts():
    assert usd(Decimal(0)) == "$0.00"
    assert usd(Decimal("0.15")) == "$0.15"
    assert usd(Decimal("0.1875")) == "$0.1875"
    assert usd(Decimal("0.003")) == "$0.003"


def test_estimate_of_a_replicate_plan_per_stage_model_and_calls():
    plan = plan_spec(spec(backend="replicate", beats=BEATS), 5.0)
    found = estimate_plan(plan, prices={})
    rows = [(line.stage, line.model, line.calls, line.usd) for line in found.lines]
    # Each line is the registry's price of the stage's default model, times its calls: 2 images, 3 chunks
    # (billed for the model's whole clip), one music bed of the video's 15 s.
    image, video, music = (REGISTRY[DEFAULTS[stage]] for stage in ("image", "video", "music"))
    per_call = {
        "storyboard": call_cost(image.price, 0),
        "chunks": call_cost(video.price, video.billed_seconds),
        "music": call_cost(music.price, music_seconds(15)),
    }
    expected = {"storyboard": 2 * per_call["storyboard"], "chunks": 3 * per_call["chunks"], "music": per_call["music"]}
    assert rows == [
        ("storyboard", DEFAULTS["image"], 2, expected["storyboard"]),
        ("chunks", DEFAULTS["video"], 3, expected["chunks"]),
        ("music", DEFAULTS["music"], 1, expected["music"]),
    ]
    assert found.total == sum(expected.values()) and found.calls == 6
    assert found.by_stage() == expected
    table = found.table()
    [chunks_line] = [line.split() for line in table.splitlines() if line.startswith("chunks ")]
    assert chunks_line == ["chunks", DEFAULTS["video"], "3", usd(per_call["chunks"]), usd(expected["chunks"])]
    assert table.splitlines()[4].split()[-1] == usd(found.total)


def test_per_second_video_models_are_billed_for_their_whole_clip():
    plan = plan_spec(spec(backend="replicate", beats=BEATS, models={"video": "kwaivgi/kling-v2.1"}), 5.0)
    chunks = next(line for line in estimate_plan(plan, prices={}).lines if line.stage == "chunks")
    assert (chunks.calls, chunks.unit_usd, chunks.usd) == (3, Decimal("0.25"), Decimal("0.75"))


def test_animatic_estimate_is_zero():
    found = estimate_plan(plan_spec(spec(beats=BEATS), 5.0))
    assert found.total == Decimal(0) and usd(found.total) == "$0.00" and found.calls == 6


def test_estimate_counts_llm_planning_and_no_music():
    plan = plan_spec(spec(backend="replicate", planner="llm", music=False), 5.0)
    found = estimate_plan(plan, prices={})
    assert [line.stage for line in found.lines] == ["planner", "storyboard", "chunks"]
    assert found.lines[0].usd == Decimal("0.0004")
    assert "chunks are counted from the library plan" in found.table()


def test_estimate_with_explicit_models():
    plan = plan_spec(spec(beats=BEATS), 5.0)
    found = estimate(plan, {"storyboard": StageModel("m", Price(Decimal("0.01")))}, backend="x")
    assert found.total == Decimal("0.02")
    assert {line.price for line in found.lines if line.stage != "storyboard"} == {FREE}


def test_budget_refusal_names_the_numbers():
    found = estimate_plan(plan_spec(spec(backend="replicate", beats=BEATS), 5.0), prices={})
    assert budget_refusal(None, found) is None
    assert budget_refusal(0.1875, found) is None
    message = budget_refusal(0.1, found)
    assert message == (
        "video 'v': the estimated cost $0.1875 (6 call(s): storyboard $0.006, chunks $0.15, music $0.0315) is above "
        "budget_usd $0.10; nothing was generated. Raise budget_usd, shorten the video or choose cheaper models "
        "(see `vidgen estimate`)."
    )


def test_registry_has_the_required_models_with_sources_and_dates():
    for model_id in (
        "black-forest-labs/flux-schnell", "black-forest-labs/flux-dev", "wan-video/wan-2.2-i2v-fast",
        "minimax/hailuo-02", "kwaivgi/kling-v2.1", "bytedance/seedance-1-lite", "meta/musicgen",
        "meta/meta-llama-3-8b-instruct",
    ):  # fmt: skip
        model = REGISTRY[model_id]
        assert model.price.usd > 0 and model.price.source and model.price.date
    assert REGISTRY["wan-video/wan-2.2-i2v-fast"].size == (832, 480)
    assert (REGISTRY["wan-video/wan-2.2-i2v-fast"].num_frames, REGISTRY["wan-video/wan-2.2-i2v-fast"].fps) == (81, 16)
    assert REGISTRY["minimax/hailuo-02"].image_key == "first_frame_image"
    assert REGISTRY["kwaivgi/kling-v2.1"].image_key == "start_image"
    assert (REGISTRY["bytedance/seedance-1-lite"].image_key, REGISTRY["bytedance/seedance-1-lite"].duration_key) == (
        "image",
        "duration",
    )


def test_model_selection_overrides_and_errors():
    chosen = select_models({"image": "black-forest-labs/flux-dev", "video": "minimax/hailuo-02"})
    assert (chosen.image.id, chosen.video.id, chosen.music.id) == (
        "black-forest-labs/flux-dev",
        "minimax/hailuo-02",
        DEFAULTS["music"],
    )
    with pytest.raises(UnknownModel, match=r"models\.video: 'meta/musicgen' is not a known video model; known: "):
        select_models({"video": "meta/musicgen"})
    with pytest.raises(UnknownModel, match="unknown stage"):
        select_models({"sound": "meta/musicgen"})


def test_the_video_models_clip_feeds_the_planner():
    hailuo = spec(backend="replicate", beats=BEATS, models={"video": "minimax/hailuo-02"})
    assert chunk_seconds_for(hailuo, 5.0) == 6.0
    assert plan_spec(hailuo, chunk_seconds_for(hailuo, 5.0)).chunk_frames == 144
    assert chunk_seconds_for(spec(beats=BEATS), 3.0) == 3.0


def test_prices_are_overridden_from_the_file_vidgen_prices_names(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"wan-video/wan-2.2-i2v-fast": {"usd": "0.08", "source": "invoice", "date": "2026-11"}}))
    prices = load_prices(path)
    assert prices["wan-video/wan-2.2-i2v-fast"] == Price(Decimal("0.08"), "run", "invoice", "2026-11")
    found = estimate_plan(plan_spec(spec(backend="replicate", beats=BEATS), 5.0), prices=prices)
    assert found.by_stage()["chunks"] == Decimal("0.24")
    assert load_prices(None) == {}
    path.write_text(json.dumps({"nope/model": {"usd": 1}}))
    with pytest.raises(ValueError, match="unknown model 'nope/model'"):
        load_prices(path)


def test_llm_prompt_and_reply_validation():
    s = spec(planner="llm")
    assert "15 second video" in build_prompt(s) and "an ad for cold brew" in build_prompt(s)
    good = json.dumps([{"name": "open", "duration": 10, "prompt": "a", "camera": "push_in"},
                       {"name": "close", "duration": 5, "prompt": "b", "transition": "fade"}])  # fmt: skip
    beats = parse_beats(f"```json\n{good}\n```", s)
    assert [(b.name, b.duration) for b in beats] == [("open", 10), ("close", 5)]
    for reply, why in [
        ("no json here", "holds no JSON array"),
        ("[{'name': 1}]", "not valid JSON"),
        ('[{"name": "a", "duration": 15, "prompt": "x", "camera": "dolly"}]', "beat 0: camera"),
        ('[{"name": "a", "duration": 60, "prompt": "x"}]', "the beats last 60 s in all, the video 15 s"),
        ("[]", "not a non-empty JSON array"),
    ]:
        with pytest.raises(LlmPlanError, match=why):
            parse_beats(reply, s)


def test_llm_planner_uses_valid_beats_and_falls_back_with_a_warning():
    s = spec(planner="llm")
    good = json.dumps(
        [{"name": "open", "duration": 10, "prompt": "a"}, {"name": "close", "duration": 5, "prompt": "b"}]
    )
    plan = plan_spec(s, 5.0, ask_llm=lambda system, prompt: (good, "meta/llm"))
    assert plan.planner == "llm:meta/llm" and [b.name for b in plan.beats] == ["open", "close"]

    plan = plan_spec(s, 5.0, ask_llm=lambda system, prompt: ("I cannot help", "meta/llm"))
    assert plan.planner.startswith("library:")
    assert plan.warnings[0] == (
        "planner llm (meta/llm) gave unusable beats (the reply holds no JSON array): used the library planner"
    )

    def broken(system: str, prompt: str) -> tuple[str, str]:
        raise RuntimeError("replicate model x: prediction p failed: boom")

    plan = plan_spec(s, 5.0, ask_llm=broken)
    assert plan.warnings[0].startswith("planner llm call failed (replicate model x: prediction p failed: boom)")
    assert "no language model" not in plan.warnings[0]
    assert "has none" in plan_spec(s, 5.0).warnings[0]


# The 2026-12 registry: end frames, reference images, audio, bridges.
BRIDGED = [
    {"name": "a", "duration": 5, "prompt": "x", "transition": "bridge"},
    {"name": "b", "duration": 5, "prompt": "y", "transition": "bridge", "transition_duration": 2},
    {"name": "c", "duration": 5, "prompt": "z"},
]


def test_every_model_says_where_its_price_comes_from_and_what_is_unconfirmed():
    for model in REGISTRY.values():
        assert model.price.source and model.price.date, model.id
        if model.end_image_key or model.reference_images_key:
            assert model.clip_lengths and model.confirmed, model.id
        if model.audio_key:
            assert model.native_audio, model.id
    veo = REGISTRY["google/veo-3.1"]
    assert (veo.image_key, veo.end_image_key, veo.reference_images_key, veo.max_reference_images) == (
        "image", "last_frame", "reference_images", 3)  # fmt: skip
    assert (veo.audio_key, veo.clip_lengths) == ("generate_audio", (4, 6, 8))
    assert veo.audio_price is not None and veo.audio_price.usd > veo.price.usd
    assert REGISTRY["minimax/hailuo-02"].end_image_key == "last_frame_image"


def test_a_spec_with_bridges_gets_an_end_frame_video_model_and_its_bridges_are_estimated():
    bridged = spec(backend="replicate", beats=BRIDGED)
    assert chunk_seconds_for(bridged, 5.0) == 6.0  # hailuo-02's clip
    found = estimate_plan(plan_spec(bridged, 6.0), prices={})
    bridges = [line for line in found.lines if line.stage == "bridges"]
    # 1 s and 2 s bridges: each billed for hailuo's shortest clip that covers it (6 s at $0.045/s).
    assert [(line.model, line.calls, line.unit_usd) for line in bridges] == [("minimax/hailuo-02", 2, Decimal("0.270"))]
    assert "retimed to the 3 s they fill" in found.notes[-1]
    veo = spec(backend="replicate", beats=BRIDGED, models={"video": "google/veo-3.1-fast"})
    lines = [line for line in estimate_plan(plan_spec(veo, 8.0), prices={}).lines if line.stage == "bridges"]
    assert [(line.calls, line.unit_usd) for line in lines] == [(2, Decimal("0.40"))]  # 4 s at the no-audio rate


def test_a_bridge_with_a_model_that_has_no_end_frame_is_a_field_error():
    bad = spec(backend="replicate", beats=BRIDGED, models={"video": "wan-video/wan-2.2-i2v-fast"})
    with pytest.raises(SpecError) as caught:
        chunk_seconds_for(bad, 5.0)
    paths = [e.path for e in caught.value.errors]
    assert paths == ["models.video", "beats[0].transition", "beats[1].transition"]
    assert "minimax/hailuo-02" in caught.value.errors[0].message
    # The animatic draws bridges itself: any model choice is fine there.
    assert chunk_seconds_for(spec(beats=BRIDGED, models={"video": "wan-video/wan-2.2-i2v-fast"}), 5.0) == 5.0


def test_animatic_bridges_are_free_calls():
    found = estimate_plan(plan_spec(spec(beats=BRIDGED), 5.0))
    assert [(line.stage, line.calls) for line in found.lines if line.stage == "bridges"] == [("bridges", 2)]
    assert found.total == 0
