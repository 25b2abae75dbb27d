"""The animatic raises no false alarm: every chunk and bridge of every animatic example, rendered by the
CLI into a temporary data dir as a user renders it, and of generated specs, passes every clip check
(`media.qc.check_clip`), each compared with the picture a take must start (and a bridge end) on:

- a reference-image chunk: its beat's storyboard image, as stored (every camera move starts on it);
- a continuous chunk: the previous chunk's stored last frame;
- a bridge: the outgoing beat's last frame and the incoming beat's storyboard image.

A static camera holds one picture by design: its chunks are checked with `moves=False`. Each final video
passes its own checks too (`media.qc.check_final`), as the `final_picture_and_sound_qc` asset check
recorded them in the render's Dagster instance."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from vidgen_assets.cli import main
from vidgen_assets.core import qc
from vidgen_assets.core.plan import Plan
from vidgen_assets.core.qc import CheckResult
from vidgen_assets.core.spec import SpecError, load_spec, read_spec_text
from vidgen_assets.defs.checks import FINAL_QC_CHECK
from vidgen_assets.media.qc import check_clip, check_final
from vidgen_assets.storage import layout
from vidgen_tests.conftest import EXAMPLES
from vidgen_tests.core.spec_strategies import BEAT_FIELDS, SPEC_FIELDS

ANIMATIC_EXAMPLES = [p for p in sorted(EXAMPLES.glob("*.yaml")) if load_spec(p).backend == "animatic"]


def stored_clip_checks(video: Path) -> dict[str, list[CheckResult]]:
    """Every stored chunk and bridge of the rendered video in `video` (`videos/<id>/`), checked."""
    plan = Plan.model_validate_json((video / layout.PLAN).read_text())
    out: dict[str, list[CheckResult]] = {}
    for beat in plan.beats:
        expected = video / layout.storyboard_image(beat.index)
        for chunk in beat.chunks:
            clip = video / layout.chunk_video(chunk.index)
            moves = beat.camera != "static"
            out[f"chunk {chunk.index} ({beat.camera}, {chunk.kind})"] = check_clip(
                clip, chunk.kind, expected, None, plan.fps, moves=moves
            )
            expected = video / layout.chunk_last_frame(chunk.index)
    for bridge in plan.bridges:
        start = video / layout.chunk_last_frame(plan.beats[bridge.from_beat].chunks[-1].index)
        end = video / layout.storyboard_image(bridge.to_beat)
        clip = video / layout.bridge_video(bridge.key)
        out[f"bridge {bridge.key}"] = check_clip(clip, "bridge", start, end, plan.fps)
    return out


def final_checks(video: Path) -> list[CheckResult]:
    """The final video's checks, measured again on the stored `final.mp4`."""
    plan = Plan.model_validate_json((video / layout.PLAN).read_text())
    return check_final(video / "final.mp4", plan.fps, plan.total_frames, qc.final_allowances(plan))


def recorded_final_check(home: Path) -> dg.AssetCheckEvaluation:
    """The latest `final_picture_and_sound_qc` evaluation in the instance at `home`."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        key = dg.AssetCheckKey(dg.AssetKey("final_video"), FINAL_QC_CHECK)
        record = instance.get_latest_asset_check_evaluation_record(key)
    assert record is not None and record.event is not None and record.event.dagster_event is not None
    evaluation = record.event.dagster_event.event_specific_data
    assert isinstance(evaluation, dg.AssetCheckEvaluation)
    return evaluation


def failed(checked: dict[str, list[CheckResult]]) -> dict[str, list[str]]:
    return {
        clip: [f"{r.name} {r.value:.3f} (threshold {r.threshold})" for r in results if not r.passed]
        for clip, results in checked.items()
        if any(not r.passed for r in results)
    }


def render(spec: Path, tmp: Path) -> list[Path]:
    """`vidgen render SPEC` into a fresh data dir and instance: the folder of every video it made."""
    data = tmp / "data"
    assert main(["render", str(spec), "--data-dir", str(data), "--dagster-home", str(tmp / "dh")]) == 0
    return sorted(p for p in (data / "videos").iterdir() if (p / "final.mp4").exists())


def test_every_animatic_example_is_checked() -> None:
    assert {"bridge-tour", "cold-brew-ad", "sneaker-vertical", "bottle-reference"} <= {
        p.stem for p in ANIMATIC_EXAMPLES
    }


@pytest.mark.parametrize("spec", ANIMATIC_EXAMPLES, ids=[p.stem for p in ANIMATIC_EXAMPLES])
def test_every_clip_of_an_animatic_example_passes_every_check(spec: Path, tmp_path: Path) -> None:
    videos = render(spec, tmp_path)
    assert videos, "nothing rendered"
    for video in videos:
        checked = stored_clip_checks(video)
        plan = Plan.model_validate_json((video / layout.PLAN).read_text())
        assert len(checked) == len(plan.chunks) + len(plan.bridges)
        assert failed(checked) == {}, video.name
        for clip, results in checked.items():  # well clear of the thresholds, not just over them
            start = next(r for r in results if r.name == "start")
            assert start.value >= 38.0, (video.name, clip, start)
        finals = final_checks(video)
        assert [r.name for r in finals if not r.passed] == [], (video.name, finals)
        assert {r.name: r.value for r in finals}["black_stretch"] == 0.0, video.name
    evaluation = recorded_final_check(tmp_path / "dh")  # the last video's, as the render recorded it
    assert evaluation.passed, evaluation.metadata
    assert evaluation.metadata["duration"].value == evaluation.metadata["duration_threshold"].value
    assert evaluation.metadata["blocking_failures"].value == "none"


def _beat(draw: st.DrawFn, index: int) -> dict[str, Any]:
    beat: dict[str, Any] = {"name": f"b{index}", "prompt": f"shot {index}", "duration": draw(st.integers(2, 4))}
    for name in ("camera", "transition", "transition_duration", "text"):
        if draw(st.booleans()):
            beat[name] = draw(BEAT_FIELDS[name][0])
    return beat


@st.composite
def small_specs(draw: st.DrawFn) -> dict[str, Any]:
    """Small animatic specs (5-8 s, 480p, two beats) with the fields drawn from `spec_strategies`:
    frame shape, frame rate, style, seed, CTA, and per beat camera move, transition and its length, text."""
    beats = [_beat(draw, i) for i in range(2)]
    data: dict[str, Any] = {"id": "qc-generated", "prompt": "generated", "resolution": "480p", "beats": beats}
    data["duration"] = max(5, sum(b["duration"] for b in beats))
    for name in ("aspect_ratio", "fps", "style", "seed", "cta"):
        if draw(st.booleans()):
            data[name] = draw(SPEC_FIELDS[name][0])
    data["music"] = False
    return data


@settings(max_examples=4, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_specs())
def test_generated_animatic_specs_raise_no_false_alarm(data: dict[str, Any]) -> None:
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    try:
        read_spec_text(text, "qc-generated.yaml")
    except SpecError:
        assume(False)  # a bridge longer than half its beat and the like: refused, nothing to check
    with tempfile.TemporaryDirectory(prefix="qc-gen-") as tmp:
        spec = Path(tmp) / "qc-generated.yaml"
        spec.write_text(text, encoding="utf-8")
        (video,) = render(spec, Path(tmp))
        assert failed(stored_clip_checks(video)) == {}, text
        assert [r.name for r in final_checks(video) if not r.passed] == [], text
