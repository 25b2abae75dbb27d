"""A replicate-backend render end to end: the Runner (Dagster runs, worker processes) against the fake API."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import dagster as dg
import pytest

from vidgen_assets.cli import main
from vidgen_assets.core.spec import load_spec
from vidgen_assets.media import probe
from vidgen_assets.runner import RenderFailed, Runner

SPEC = """\
# sneaker-vertical, smaller: 16:9 480p, a 10 s beat (one continuous chunk) and a 5 s beat.
id: sneaker-replicate
prompt: "15 second clip for a running sneaker, energetic city night"
duration: 15
aspect_ratio: "16:9"
resolution: 480p
fps: 24
style: {aesthetic: "neon night", palette: ["#0b0f2a", "#ff2d75"], mood: energetic}
beats:
  - {name: night_run, duration: 10, prompt: "sneakers on wet pavement under neon", camera: pan_left,
     text: "Run the night", transition: fade}
  - {name: call_to_action, duration: 5, prompt: "the sneaker spinning on a reflective floor", camera: push_in}
music: {mood: energetic, bpm: 128, volume: 0.9}
cta: "Shop the drop"
backend: replicate
seed: 3
"""
MODELS = {"black-forest-labs/flux-schnell": 2, "wan-video/wan-2.2-i2v-fast": 3, "meta/musicgen": 1}


def write_spec(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "sneaker-replicate.yaml"
    path.write_text(SPEC + extra)
    return path


def estimated_total(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["estimate", str(path)]) == 0
    out = capsys.readouterr().out
    total = next(line for line in out.splitlines() if line.startswith("total"))
    return total.split()[-1]


def metadata(instance: dg.DagsterInstance, asset: str) -> dict[str, object]:
    event = instance.get_latest_materialization_event(dg.AssetKey(asset))
    assert event is not None and event.asset_materialization is not None
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


@pytest.mark.slow
def test_replicate_render_end_to_end_costs_what_was_estimated_then_nothing(
    replicate_env, settings, home, instance, tmp_path, capsys, caplog
):
    fake = replicate_env
    caplog.set_level(logging.INFO)
    path = write_spec(tmp_path)
    assert estimated_total(path, capsys) == "$0.1875"
    assert fake.requests == [], "estimating calls nothing"

    spec = load_spec(path)
    report = Runner(settings, home, progress=print).render(spec, path.read_text())

    video = settings.data_dir / "videos" / spec.id
    final = probe.probe(video / "final.mp4")
    assert (final.width, final.height, final.fps, final.frames) == (854, 480, Fraction(24), 360)
    assert (final.video_codec, final.has_audio) == ("h264", True)
    for index, frames in enumerate([120, 132, 120]):
        chunk = probe.probe(video / "chunks" / f"chunk_{index:03d}.mp4")
        assert (chunk.frames, chunk.width, chunk.height) == (frames, 854, 480)

    # Every call was paid once, with the token; the costs per artifact add up to the estimate.
    assert {m: fake.create_count(m) for m in MODELS} == MODELS
    requests = [json.dumps([model, sent], sort_keys=True) for model, sent in fake.creates]
    assert len(set(requests)) == len(requests), "no request was paid twice"
    assert all(r.authorized for r in fake.calls(prefix="/v1/"))
    record = json.loads((video / "final.json").read_text())
    assert Decimal(str(record["cost_usd"])) == Decimal("0.1875") == Decimal(str(report.cost_usd))
    assert record["cost_by_stage"] == {"storyboard": 0.006, "chunks": 0.15, "music": 0.0315}
    p000 = json.loads((video / "chunks" / "p000.json").read_text())
    assert [(c["kind"], c["cost_usd"], c["cache"], c["model"]) for c in p000["chunks"]] == [
        ("reference", 0.05, "miss", "wan-video/wan-2.2-i2v-fast"),
        ("continuous", 0.05, "miss", "wan-video/wan-2.2-i2v-fast"),
    ]
    assert all(c["prediction_id"] in fake.predictions for c in p000["chunks"])
    assert metadata(instance, "final_video")["cost_usd"] == 0.1875
    assert metadata(instance, "chunk_pairs")["cache"] == "miss"
    assert metadata(instance, "video_spec")["estimate_usd"] == 0.1875

    # A second render pays nothing and calls nothing, even with the chunk pairs' outputs gone: each pair is
    # made again from the generation cache (the continuous chunk's start frame is re-made from the cached
    # first chunk byte for byte, so it hits too), for $0 and zero API calls.
    for pair in ("p000", "p001"):
        (video / "chunks" / f"{pair}.json").unlink()
    before = len(fake.requests)
    again = Runner(settings, home, progress=print).render(spec, path.read_text())
    assert len(fake.requests) == before
    assert again.final_uri == report.final_uri
    manifests = [json.loads((video / "chunks" / f"{pair}.json").read_text()) for pair in ("p000", "p001")]
    remade = [chunk for manifest in manifests for chunk in manifest["chunks"]]
    assert [(c["cache"], c["cost_usd"]) for c in remade] == [("hit", 0.0)] * 3
    assert metadata(instance, "chunk_pairs")["cache"] == "hit"

    # The token is nowhere: not in any file of the data dir or the Dagster instance, nor in any output.
    token = fake.token.encode()
    for root in (settings.data_dir, home):
        for file in root.rglob("*"):
            if file.is_file():
                assert token not in file.read_bytes(), file
    out = capsys.readouterr()
    assert fake.token not in out.out + out.err + caplog.text


def test_a_budget_below_the_estimate_is_refused_before_any_call(replicate_env, tmp_path, capsys):
    fake = replicate_env
    path = write_spec(tmp_path, "budget_usd: 0.10\n")
    code = main(["render", str(path), "--data-dir", str(tmp_path / "data"), "--dagster-home", str(tmp_path / "h")])
    err = capsys.readouterr().err
    assert code == 2
    assert "refused: video 'sneaker-replicate': the estimated cost $0.1875 (6 call(s): storyboard $0.006, " in err
    assert "is above budget_usd $0.10; nothing was generated" in err
    assert fake.requests == []
    assert main(["estimate", str(path)]) == 0
    assert "budget_usd $0.10: OVER BUDGET" in capsys.readouterr().out


def test_the_video_spec_asset_refuses_an_over_budget_spec_with_the_same_message(
    replicate_env, settings, home, tmp_path
):
    fake = replicate_env
    path = write_spec(tmp_path, "budget_usd: 0.10\n")
    spec = load_spec(path)
    with pytest.raises(RenderFailed) as failed:
        Runner(settings, home, progress=lambda _: None).render(spec, path.read_text())
    assert "the estimated cost $0.1875" in str(failed.value) and "budget_usd $0.10" in str(failed.value)
    assert fake.requests == []


def test_a_replicate_spec_without_a_token_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)
    path = write_spec(tmp_path)
    assert main(["render", str(path), "--data-dir", str(tmp_path / "data")]) == 2
    assert "needs an API token: set REPLICATE_API_TOKEN" in capsys.readouterr().err


LLM_SPEC = """\
id: llm-teaser
prompt: "a teaser for a minimalist desk lamp"
duration: 10
resolution: 480p
backend: replicate
planner: llm
music: false
"""


def materialize_spec(settings, instance, text: str) -> dg.ExecuteInProcessResult:
    from vidgen_assets.defs import build_resources
    from vidgen_assets.defs.assets import video_spec
    from vidgen_assets.storage import layout

    spec_id = text.split("\n", 1)[0].split(": ")[1]
    settings.store().put_bytes(layout.video_key(spec_id, layout.SPEC_SOURCE), text.encode())
    instance.add_dynamic_partitions("videos", [spec_id])
    return dg.materialize(
        [video_spec], partition_key=spec_id, resources=build_resources(settings), instance=instance,
        raise_on_error=False,
    )  # fmt: skip


def test_llm_planning_in_the_video_spec_asset_is_validated_and_cached(replicate_env, settings, instance):
    fake = replicate_env
    fake.llm_reply = json.dumps(
        [
            {"name": "lamp_reveal", "duration": 5, "prompt": "the lamp lit in the dark", "camera": "pull_out"},
            {"name": "desk_detail", "duration": 5, "prompt": "light on an oak desk", "transition": "cut"},
        ]
    )
    assert materialize_spec(settings, instance, LLM_SPEC).success
    meta = metadata(instance, "video_spec")
    assert meta["planner"] == "llm:meta/meta-llama-3-8b-instruct" and meta["beats"] == 2
    assert meta["estimate_usd"] == pytest.approx(0.0004 + 2 * 0.003 + 2 * 0.05)
    assert fake.create_count() == 1
    sent = fake.creates[0][1]
    assert "a teaser for a minimalist desk lamp" in sent["prompt"] and "JSON" in sent["system_prompt"]

    # Planning again asks nobody: the reply is in the generation cache.
    instance.delete_dynamic_partition("videos", "llm-teaser")
    assert materialize_spec(settings, instance, LLM_SPEC).success
    assert fake.create_count() == 1


def test_an_invalid_llm_reply_falls_back_to_the_library_planner_with_a_warning(replicate_env, settings, instance):
    replicate_env.llm_reply = "Sure! Here are some beats: lamp, desk, done."
    assert materialize_spec(settings, instance, LLM_SPEC).success
    meta = metadata(instance, "video_spec")
    assert str(meta["planner"]).startswith("library:")
    assert "planner llm (meta/meta-llama-3-8b-instruct) gave unusable beats" in str(meta["warning_text"])


def test_an_over_budget_llm_spec_is_refused_before_the_llm_call(replicate_env, settings, instance):
    result = materialize_spec(settings, instance, LLM_SPEC + "budget_usd: 0.01\n")
    assert not result.success
    assert replicate_env.requests == []


def test_validate_lays_chunks_out_with_the_video_models_clip(tmp_path, capsys):
    path = write_spec(tmp_path, "models: {video: minimax/hailuo-02}\n")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "3 chunk(s) of up to 6s" in out and "ref:144f + cont:108f" in out
    path.write_text(SPEC + "models: {video: acme/unknown}\n")
    assert main(["validate", str(path)]) == 2
    assert "models.video: 'acme/unknown' is not a known video model" in capsys.readouterr().err
