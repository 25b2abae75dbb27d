"""Every example spec rendered end to end on a temporary instance: real Dagster runs, real ffmpeg."""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import srt
from PIL import Image

from vidgen_assets.cli import main
from vidgen_assets.core.spec import load_spec
from vidgen_assets.editorial import otio_timeline
from vidgen_assets.media import probe
from vidgen_assets.music_file import read_local_music
from vidgen_assets.references import read_local_references
from vidgen_assets.runner import Runner
from vidgen_assets.storage import layout
from vidgen_tests.conftest import EXAMPLES
from vidgen_tests.media.qc_measure import assert_no_false_alarm
from vidgen_tests.media.test_loudness import decode, pyloudnorm_lufs, true_peak_dbtp

SPECS = sorted(EXAMPLES.glob("*.yaml"))


def test_there_are_at_least_the_four_documented_examples():
    names = {p.stem for p in SPECS}
    assert {"cold-brew-ad", "sneaker-vertical", "recipe-square", "planned-teaser"} <= names
    animatic = {p.stem for p in SPECS if load_spec(p).backend == "animatic"}
    assert {"bridge-tour", "cold-brew-ad", "sneaker-vertical", "bottle-reference"} <= animatic


def picture_cuts(path: Path, frames: int) -> list[int]:
    """The frames where the picture changes at once (the first frame after a cut): a change from the frame
    before far larger than the changes next to it (a camera move changes every frame a little)."""
    decoded = probe.read_frames(path, list(range(frames)))
    change = [0.0, *(float(np.abs(b.astype(int) - a.astype(int)).mean()) for a, b in pairwise(decoded)), 0.0]
    return [i for i in range(1, frames) if change[i] > 10 and change[i] > 4 * max(change[i - 1], change[i + 1])]


def check_results(instance: dg.DagsterInstance) -> dict[str, bool]:
    out = {}
    assets = {"storyboard_image_per_beat": "storyboard", "stitched_matches_plan": "stitched_video",
              "final_matches_spec": "final_video", "final_loudness_on_target": "final_video",
              "final_text_in_safe_area": "final_video"}  # fmt: skip
    for check, asset in assets.items():
        record = instance.get_latest_asset_check_evaluation_record(dg.AssetCheckKey(dg.AssetKey(asset), check))
        assert record is not None, f"check {check} never ran"
        event = record.event.dagster_event if record.event is not None else None
        evaluation = event.event_specific_data if event is not None else None
        assert isinstance(evaluation, dg.AssetCheckEvaluation)
        out[check] = evaluation.passed
    return out


@pytest.mark.slow
@pytest.mark.parametrize("spec_path", SPECS, ids=[p.stem for p in SPECS])
def test_example_renders_to_the_spec(spec_path: Path, settings, home, instance, capsys):
    spec = load_spec(spec_path)
    references = read_local_references(spec, spec_path)
    track = read_local_music(spec, spec_path)
    report = Runner(settings, home, progress=print).render(spec, spec_path.read_text(), references, track=track)
    video = settings.data_dir / "videos" / spec.id
    plan = json.loads((video / "spec.json").read_text())

    # The final video: the spec's duration to one frame, size, fps, codecs, audio iff music or a voice.
    final = probe.probe(video / "final.mp4")
    width, height = spec.size
    assert report.final_uri == str(video / "final.mp4")
    assert abs(final.frames - round(spec.duration * spec.fps)) <= 1
    assert abs(final.duration_s - spec.duration) <= 1 / spec.fps
    assert (final.width, final.height, final.fps) == (width, height, Fraction(spec.fps))
    assert (final.video_codec, final.pix_fmt) == ("h264", "yuv420p")
    speaks = spec.voice is not None and spec.speaks
    assert final.has_audio == (spec.music is not None or speaks)
    if final.has_audio:
        assert final.audio_codec == "aac" and abs((final.audio_duration_s or 0) - final.duration_s) < 0.001
        # On the loudness target (-14 LUFS, -1 dBTP by default), as an independent meter reads the file.
        heard = decode(video / "final.mp4")
        assert abs(pyloudnorm_lufs(heard) - spec.audio.loudness) <= 1.0
        assert true_peak_dbtp(heard) <= spec.audio.true_peak + 0.1
    if spec.subtitle_mode != "off":  # one cue per line, from the line's start, inside its beat
        cues = list(srt.parse((video / "final.srt").read_text(encoding="utf-8")))
        lines = [b for b in plan["beats"] if b.get("say")]
        assert [c.content for c in cues] == [b["say"] for b in lines]
        for cue, beat in zip(cues, lines, strict=True):
            start, end = cue.start.total_seconds(), cue.end.total_seconds()
            assert beat["start_frame"] / spec.fps < start < end <= (beat["start_frame"] + beat["frames"]) / spec.fps

    if spec.music is not None and spec.music.file is not None and spec.music.sync:
        # Your own track, beat-tracked: each cut, found on the decoded picture, within a frame of its beats.
        tracked = plan["music_track"]["beats"]
        cut_at = [b["start_frame"] for b in plan["beats"][1:]]
        assert picture_cuts(video / "final.mp4", final.frames) == cut_at
        assert all(min(abs(f / spec.fps - t) for t in tracked) <= 1 / spec.fps for f in cut_at)

    # Every artifact beside it, in the documented layout.
    beats = plan["beats"]
    chunks = [c for b in beats for c in b["chunks"]]
    assert sorted(p.name for p in (video / "storyboard").glob("*.png")) == [
        f"beat_{i:02d}.png" for i in range(len(beats))
    ]
    assert sorted(p.name for p in (video / "chunks").glob("chunk_*.mp4")) == [
        f"chunk_{i:03d}.mp4" for i in range(len(chunks))
    ]
    assert (video / "music.wav").exists() == (spec.music is not None)
    # The copy path's pieces: each beat's frames outside its incoming transition, text burnt in.
    for k, beat in enumerate(beats):
        incoming = beats[k - 1]["transition_frames"] if k else 0
        assert probe.probe(video / "chunks" / f"p{k:03d}.piece.mp4").frames == beat["frames"] - incoming
    for beat in beats:
        record = json.loads((video / "chunks" / f"p{beat['index']:03d}.json").read_text())
        assert [c["index"] for c in record["chunks"]] == [c["index"] for c in beat["chunks"]]
        for c in beat["chunks"]:
            info = probe.probe(video / layout.chunk_video(c["index"]))
            assert (info.frames, info.width, info.height, info.fps) == (c["frames"], width, height, Fraction(spec.fps))
        # Last-frame continuation: each continuous chunk was made from the exact last frame of the one before.
        for before, after in zip(record["chunks"], record["chunks"][1:], strict=False):
            last_png = video / layout.chunk_last_frame(before["index"])
            assert after["kind"] == "continuous"
            assert after["source_sha256"] == hashlib.sha256(last_png.read_bytes()).hexdigest()
            decoded_last = probe.read_frames(video / layout.chunk_video(before["index"]), [before["frames"] - 1])[0]
            assert np.array_equal(np.asarray(Image.open(last_png).convert("RGB")), decoded_last)

    # The blocking checks ran on the real files and passed.
    assert check_results(instance) == {
        "storyboard_image_per_beat": True, "stitched_matches_plan": True, "final_matches_spec": True,
        "final_loudness_on_target": True, "final_text_in_safe_area": True,
    }  # fmt: skip
    # The animatic raises no false alarm: each clip and the final video, measured again, pass every check.
    if spec.backend == "animatic":
        assert_no_false_alarm(video, instance)
    # The offline report beside the final video links to it.
    assert 'href="final.mp4"' in (video / "report.html").read_text()
    out = capsys.readouterr().out

    # For an editor: final.otio beside it reads back the plan's beats and length; every format exports.
    found = otio_timeline.read_back(otio_timeline.from_json((video / "final.otio").read_text()), spec.fps)
    assert [b[1:] for b in found.beats] == [(b["start_frame"], b["frames"]) for b in beats]
    assert found.duration == round(spec.duration * spec.fps)
    for fmt, name in (("otio", "final.otio"), ("edl", "final.edl"), ("fcpxml", "final.fcpxml"),
                      ("kdenlive", "final.kdenlive")):  # fmt: skip
        assert main(["export", str(spec_path), "--format", fmt, "--data-dir", str(settings.data_dir)]) == 0
        assert capsys.readouterr().out.strip() == str(video / name)
    assert f"pair {len(beats)}/{len(beats)} done" in out


@pytest.mark.slow
def test_the_video_and_its_runs_are_in_the_instance(settings, home, instance):
    spec_path = EXAMPLES / "recipe-square.yaml"
    spec = load_spec(spec_path)
    Runner(settings, home, progress=lambda _: None).render(spec, spec_path.read_text())
    assert instance.get_dynamic_partitions("videos") == ["recipe-square"]
    assert instance.get_materialized_partitions(dg.AssetKey("final_video")) == {"recipe-square"}
    assert instance.get_materialized_partitions(dg.AssetKey("chunk_pairs")) == {"recipe-square"}
    [run] = instance.get_runs()
    assert (run.job_name, run.tags["dagster/partition"], run.status) == (
        "render_video", "recipe-square", dg.DagsterRunStatus.SUCCESS,
    )  # fmt: skip
    pairs = instance.get_latest_materialization_event(dg.AssetKey("chunk_pairs"))
    assert pairs is not None and pairs.asset_materialization is not None
    table = str(pairs.asset_materialization.metadata["pairs"].value)
    for key in ("p000", "p001", "p002"):
        assert f"| {key} |" in table  # each pair's row: beat, chunks, frames, seconds, made/reused, cost
    assert table.count("| made |") == 3
    event = instance.get_latest_materialization_event(dg.AssetKey("final_video"))
    assert event is not None and event.asset_materialization is not None
    meta = event.asset_materialization.metadata
    assert meta["size"].value == "480x480"
    assert meta["cost_usd"].value == 0.0
    assert meta["audio"].value is False
    assert str(meta["preview"].value).startswith("![the middle frame of each beat](data:image/jpeg;base64,")
    storyboard = instance.get_latest_materialization_event(dg.AssetKey("storyboard"))
    assert storyboard is not None and storyboard.asset_materialization is not None
    assert str(storyboard.asset_materialization.metadata["preview"].value).startswith("![storyboard](data:image/jpeg")


BROADCAST = """
id: broadcast
prompt: a short spot for broadcast
duration: 6
resolution: 480p
audio: {loudness: -23, true_peak: -2}
beats:
  - {name: one, duration: 3, prompt: a kitchen, say: "Made for the evening news."}
  - {name: two, duration: 3, prompt: a counter}
"""


@pytest.mark.slow
def test_a_broadcast_loudness_target_is_met_measured_and_shown(settings, home, instance):
    """`audio: {loudness: -23, true_peak: -2}` (EBU R128): the delivered mix of voice over music reads
    -23 LUFS on an independent meter, and `final_video` shows what was measured, its check passed."""
    from vidgen_assets.core.spec import read_spec_text

    spec = read_spec_text(BROADCAST, "broadcast.yaml")
    Runner(settings, home, progress=lambda _: None).render(spec, BROADCAST)
    heard = decode(settings.data_dir / "videos" / "broadcast" / "final.mp4")
    assert abs(pyloudnorm_lufs(heard) + 23) <= 1.0 and true_peak_dbtp(heard) <= -2 + 0.1
    [event] = instance.fetch_materializations(dg.AssetKey("final_video"), limit=1).records
    assert event.asset_materialization is not None
    meta = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    assert abs(meta["loudness_lufs"] + 23) <= 1.0 and meta["true_peak_dbtp"] <= -2
    assert abs(meta["loudness_lufs"] - pyloudnorm_lufs(heard)) <= 0.3  # ffmpeg's meter and pyloudnorm agree
    assert check_results(instance)["final_loudness_on_target"] is True
