"""The animatic's clips and final videos measured again from what a render stored (`media.qc`), the
way a user would check them: each chunk against the picture its take must start on (a reference-image
chunk: its beat's storyboard image; a continuous chunk: the previous chunk's stored last frame; a bridge:
the outgoing beat's last frame, and the incoming storyboard image at its end). A static camera holds one
picture by design: its chunks are checked with `moves=False`. A chunk of a beat that uses reference
images is looked for them (`reference`)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from vidgen_assets.core import qc
from vidgen_assets.core.plan import Plan
from vidgen_assets.core.qc import CheckResult
from vidgen_assets.defs.checks import FINAL_QC_CHECK
from vidgen_assets.media.qc import check_clip, check_final
from vidgen_assets.storage import layout


def stored_clip_checks(video: Path) -> dict[str, list[CheckResult]]:
    """Every stored chunk and bridge of the rendered video in `video` (`videos/<id>/`), checked."""
    plan = Plan.model_validate_json((video / layout.PLAN).read_text())
    out: dict[str, list[CheckResult]] = {}
    files = {ref.name: video / "references" / ref.file for ref in plan.references}
    for beat in plan.beats:
        expected = video / layout.storyboard_image(beat.index)
        shown = [files[name] for name in beat.uses]
        for chunk in beat.chunks:
            clip = video / layout.chunk_video(chunk.index)
            moves = beat.camera != "static"
            out[f"chunk {chunk.index} ({beat.camera}, {chunk.kind})"] = check_clip(
                clip, chunk.kind, expected, None, plan.fps, moves=moves, references=shown
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


def recorded_final_check(instance: dg.DagsterInstance) -> dg.AssetCheckEvaluation:
    """The latest `final_picture_and_sound_qc` evaluation in `instance`."""
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


def assert_no_false_alarm(video: Path, instance: dg.DagsterInstance) -> None:
    """Every clip of the animatic video in `video` passes every check well clear of the thresholds, and
    its final video passes its own, as measured again here and as the render's check recorded it."""
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
    evaluation = recorded_final_check(instance)
    assert evaluation.passed, evaluation.metadata
    assert evaluation.metadata["duration"].value == evaluation.metadata["duration_threshold"].value
    assert evaluation.metadata["blocking_failures"].value == "none"
