"""Partitions (one per video), re-making chosen pairs, resuming after a failure, and the Dagster CLI on a
registered partition."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.defs.jobs import RENDER_JOB
from vidgen_assets.defs.partitions import videos
from vidgen_assets.media import runner as media_runner
from vidgen_assets.runner import RenderFailed, Runner
from vidgen_tests.conftest import EXAMPLES, materialized

TINY = """
id: tiny
prompt: a tiny test video
duration: 5
resolution: 480p
fps: 24
beats:
  - {name: only, duration: 5, prompt: a single shot, camera: push_in, text: "Hi"}
music: {bpm: 90}
"""


def quiet(_: str) -> None:
    pass


@pytest.mark.slow
def test_partitions_are_the_videos_alone_and_a_pair_to_remake_must_be_the_videos(settings, home, instance):
    runner = Runner(settings, home, progress=quiet)
    runner.render(read_spec_text(TINY, "tiny.yaml"), TINY)
    three = TINY.replace("id: tiny", "id: three").replace("duration: 5\n", "duration: 15\n", 1) + (
        "  - {name: two, duration: 5, prompt: b}\n  - {name: three, duration: 5, prompt: c}\n"
    )
    three = three.replace("music: {bpm: 90}\n", "") + "music: {bpm: 90}\n"
    runner.render(read_spec_text(three, "three.yaml"), three)
    # One partition per video, whatever its pair count: nothing in the UI that can never exist.
    assert sorted(instance.get_dynamic_partitions("videos")) == ["three", "tiny"]
    assert instance.get_materialized_partitions(dg.AssetKey("chunk_pairs")) == {"three", "tiny"}
    assert instance.get_dynamic_partitions("pairs") == []

    chunks = settings.data_dir / "videos" / "tiny" / "chunks"
    before = {p.name: p.stat().st_mtime_ns for p in chunks.iterdir()}
    result = runner.defs.resolve_job_def(RENDER_JOB).execute_in_process(
        partition_key="tiny", instance=instance, raise_on_error=False,
        run_config={"ops": {"generate": {"config": {"remake": ["p002"]}}}},
    )  # fmt: skip
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_key == "generate"
    message = failure.step_failure_data.error.message if failure.step_failure_data.error else ""
    assert "generate.config.remake: video 'tiny' has no pair p002; its pairs: p000" in message
    assert {p.name: p.stat().st_mtime_ns for p in chunks.iterdir()} == before  # nothing written


@pytest.mark.slow
def test_a_pair_chosen_for_remaking_is_made_again_and_only_it(settings, home, instance):
    text = TINY.replace("duration: 5\n", "duration: 10\n", 1).replace(
        "music:", "  - {name: two, duration: 5, prompt: b}\nmusic:"
    )
    runner = Runner(settings, home, progress=quiet)
    runner.render(read_spec_text(text, "tiny.yaml"), text)
    chunks = settings.data_dir / "videos" / "tiny" / "chunks"
    before = {p.name: p.stat().st_mtime_ns for p in chunks.iterdir()}
    result = runner.defs.resolve_job_def(RENDER_JOB).execute_in_process(
        partition_key="tiny", instance=instance,
        run_config={"ops": {"generate": {"config": {"remake": ["p001"]}}}},
    )  # fmt: skip
    pairs = materialized(result, "chunk_pairs")
    assert pairs["made"] == "p001" and pairs["reused"] == "p000"
    after = {p.name: p.stat().st_mtime_ns for p in chunks.iterdir()}
    # A new take beside the first (never overwritten), the pair's record and piece now made from it.
    assert {n for n in after if after[n] != before.get(n)} == {
        "chunk_001.t2.mp4", "chunk_001.t2.last.png", "chunk_001.takes.json", "p001.json", "p001.piece.mp4"
    }  # fmt: skip
    record = json.loads((chunks / "p001.json").read_text())
    assert [(c["take"], c["takes"]) for c in record["chunks"]] == [(2, [1, 2])]
    # Every stage's work folder is gone, the reused pair's and the cached stages' as well as the made ones'.
    assert [p.name for p in settings.scratch_dir.iterdir()] == []


def failing_ffmpeg(tmp_path: Path, marker: str) -> Path:
    """A real ffmpeg behind a wrapper that fails (like a full disk) when writing `marker`."""
    script = tmp_path / "ffmpeg-failing"
    script.write_text(
        "#!/bin/sh\n"
        f'for a in "$@"; do case "$a" in *{marker}*)\n'
        f'  echo "{marker}: No space left on device" >&2; exit 1;; esac; done\n'
        f'exec "{media_runner.ffmpeg_exe()}" "$@"\n'
    )
    script.chmod(0o755)
    return script


@pytest.mark.slow
def test_a_failed_pair_loses_nothing_and_a_rerun_continues(settings, home, instance, tmp_path):
    path = EXAMPLES / "recipe-square.yaml"
    text = path.read_text()
    spec = read_spec_text(text, str(path), default_id="recipe-square")
    chunks = settings.data_dir / "videos" / "recipe-square" / "chunks"

    failing = settings.replace(ffmpeg=str(failing_ffmpeg(tmp_path, "chunk_001")))
    with pytest.raises(RenderFailed) as caught:
        Runner(failing, home, progress=quiet).render(spec, text)
    message = str(caught.value)
    assert "of render_video:" in message and "generate: 1 of 3 chunk pair(s) failed" in message
    assert "chunk pair p001: MediaError: ffmpeg exited with code 1" in message
    assert "No space left on device" in message
    # The other pairs finished and are intact (each chunk's take and its takes file); nothing of the failed
    # pair is left half-written.
    assert sorted(p.name for p in chunks.iterdir()) == [
        "chunk_000.last.png", "chunk_000.mp4", "chunk_000.takes.json",
        "chunk_002.last.png", "chunk_002.mp4", "chunk_002.takes.json",
        "p000.json", "p000.piece.mp4", "p002.json", "p002.piece.mp4",
    ]  # fmt: skip
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in chunks.glob("chunk_00[02]*")}

    report = Runner(settings, home, progress=quiet).render(spec, text)
    assert Path(report.final_uri).exists()
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in chunks.glob("chunk_00[02]*")}
    assert after == before  # reused, not made again
    # One run for the failed render, one for the re-run, which made the failed pair alone.
    assert len(instance.get_runs(dg.RunsFilter(job_name=RENDER_JOB))) == 2
    pairs = instance.get_latest_materialization_event(dg.AssetKey("chunk_pairs"))
    assert pairs is not None and pairs.asset_materialization is not None
    assert pairs.asset_materialization.metadata["made"].value == "p001"
    assert pairs.asset_materialization.metadata["reused"].value == "p000, p002"
    assert json.loads((chunks / "p001.json").read_text())["cached"] is False
    event = instance.get_latest_materialization_event(dg.AssetKey("storyboard"))
    assert event is not None and event.asset_materialization is not None
    assert event.asset_materialization.metadata["cached"].value is True


def test_when_the_pairs_and_the_music_both_fail_the_step_names_both_and_keeps_what_finished(
    settings, home, instance, tmp_path
):
    """`generate` makes the pairs, the music and the voice side by side: two failing fail it once, naming
    both, and what finished (the voice) is stored."""
    script = tmp_path / "ffmpeg-failing-twice"
    script.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do case "$a" in *chunk_000*|*music*)\n'
        '  echo "No space left on device" >&2; exit 1;; esac; done\n'
        f'exec "{media_runner.ffmpeg_exe()}" "$@"\n'
    )
    script.chmod(0o755)
    spec = read_spec_text(TINY, "tiny.yaml")
    with pytest.raises(RenderFailed) as caught:
        Runner(settings.replace(ffmpeg=str(script)), home, progress=quiet).render(spec, TINY)
    message = str(caught.value)
    assert "generate: 2 of 3 outputs failed:" in message
    assert "chunk_pairs: 1 of 1 chunk pair(s) failed" in message and "music: " in message
    assert (settings.data_dir / "videos" / "tiny" / "voice" / "voice.json").exists()


@pytest.mark.slow
def test_dagster_job_execute_on_a_registered_partition(settings, home, instance):
    spec = read_spec_text(TINY, "tiny.yaml")
    runner = Runner(settings, home, progress=quiet)
    runner.register(spec, TINY)
    dagster = Path(sys.executable).with_name("dagster")
    env = {**os.environ, "DAGSTER_HOME": str(home), "VIDGEN_DATA": str(settings.data_dir)}
    done = subprocess.run(
        [str(dagster), "job", "execute", "-m", "vidgen_assets.definitions", "-j", RENDER_JOB,
         "--tags", json.dumps({"dagster/partition": "tiny"})],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    video = settings.data_dir / "videos" / "tiny"
    assert json.loads((video / "spec.json").read_text())["spec"]["id"] == "tiny"
    assert (video / "storyboard" / "beat_00.png").exists() and (video / "final.mp4").exists()
    runs = instance.get_runs(dg.RunsFilter(job_name=RENDER_JOB))
    assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS]
    assert runs[0].tags["dagster/partition"] == "tiny"


@pytest.mark.slow
def test_dg_launch_remakes_one_pair_of_a_rendered_video(settings, home, instance):
    text = TINY.replace("duration: 5\n", "duration: 10\n", 1).replace(
        "music:", "  - {name: two, duration: 5, prompt: b}\nmusic:"
    )
    Runner(settings, home, progress=quiet).render(read_spec_text(text, "tiny.yaml"), text)
    chunks = settings.data_dir / "videos" / "tiny" / "chunks"
    before = {p.name: p.stat().st_mtime_ns for p in chunks.iterdir()}
    dg_cli = Path(sys.executable).with_name("dg")
    env = {**os.environ, "DAGSTER_HOME": str(home), "VIDGEN_DATA": str(settings.data_dir),
           "VIRTUAL_ENV": str(Path(sys.executable).parent.parent)}  # fmt: skip
    config = {"ops": {"generate": {"config": {"remake": ["p001"]}}}}
    done = subprocess.run(
        [str(dg_cli), "launch", "--job", RENDER_JOB, "--partition", "tiny", "--config-json", json.dumps(config)],
        cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    after = {p.name: p.stat().st_mtime_ns for p in chunks.iterdir()}
    # A new take beside the first (never overwritten), the pair's record and piece now made from it.
    assert {n for n in after if after[n] != before.get(n)} == {
        "chunk_001.t2.mp4", "chunk_001.t2.last.png", "chunk_001.takes.json", "p001.json", "p001.piece.mp4"
    }  # fmt: skip
    record = json.loads((chunks / "p001.json").read_text())
    assert [(c["take"], c["takes"]) for c in record["chunks"]] == [(2, [1, 2])]
    assert [r.status for r in instance.get_runs(dg.RunsFilter(job_name=RENDER_JOB))] == [
        dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.SUCCESS,
    ]  # fmt: skip


def test_the_asset_graph(settings):
    from vidgen_assets.defs import build_definitions

    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {
        "video_spec", "storyboard", "chunk_pairs", "music", "voice", "stitched_video", "soundtrack", "final_video",
        "report",
    }  # fmt: skip
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert checks == {
        ("storyboard", "storyboard_image_per_beat"),
        ("stitched_video", "stitched_matches_plan"),
        ("final_video", "final_matches_spec"),
        ("final_video", "final_loudness_on_target"),
        ("final_video", "final_text_in_safe_area"),
        ("final_video", "final_picture_and_sound_qc"),
        ("chunk_pairs", "chunks_pass_qc"),
        ("stitched_video", "bridges_pass_qc"),
    }
    assert {getattr(job, "name", None) for job in defs.jobs or []} == {RENDER_JOB}
    assert {graph.get(dg.AssetKey(key)).partitions_def for key in keys} == {videos}
    for key in keys:
        assert graph.get(dg.AssetKey(key)).description, f"{key} has no docstring"


def test_the_code_location_loads_as_dagster_dev_loads_it(tmp_path):
    dagster = Path(sys.executable).with_name("dagster")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "VIDGEN_DATA": str(tmp_path / "data")}
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Validation successful" in done.stdout + done.stderr
