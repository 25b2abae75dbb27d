"""Partition edge cases, resuming after a failure, and the Dagster CLI on a registered partition."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.defs.partitions import pair_video
from vidgen_assets.media import runner as media_runner
from vidgen_assets.runner import RenderFailed, Runner
from vidgen_tests.conftest import EXAMPLES

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


def test_a_pair_the_video_does_not_have_ends_cleanly_without_materializing(settings, home, instance):
    runner = Runner(settings, home, progress=quiet)
    spec = read_spec_text(TINY, "tiny.yaml")
    # Another video registered more pairs: the pair dimension is global.
    instance.add_dynamic_partitions("pairs", ["p000", "p001", "p002", "p005"])
    report = runner.render(spec, TINY)
    assert Path(report.final_uri).exists()

    result = runner.defs.resolve_job_def("chunk_pairs").execute_in_process(
        partition_key="p005|tiny", instance=instance, raise_on_error=False
    )
    assert result.success
    assert instance.get_materialized_partitions(dg.AssetKey("chunk_pair")) == {"p000|tiny"}
    assert not (settings.data_dir / "videos" / "tiny" / "chunks" / "p005.json").exists()
    assert sorted(p.name for p in (settings.data_dir / "videos" / "tiny" / "chunks").iterdir()) == [
        "chunk_000.last.png", "chunk_000.mp4", "p000.json", "p000.piece.mp4",
    ]  # fmt: skip


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


def test_a_failed_pair_loses_nothing_and_a_rerun_continues(settings, home, instance, tmp_path):
    path = EXAMPLES / "recipe-square.yaml"
    text = path.read_text()
    spec = read_spec_text(text, str(path), default_id="recipe-square")
    chunks = settings.data_dir / "videos" / "recipe-square" / "chunks"

    failing = settings.replace(ffmpeg=str(failing_ffmpeg(tmp_path, "chunk_001")))
    with pytest.raises(RenderFailed) as caught:
        Runner(failing, home, progress=quiet).render(spec, text)
    message = str(caught.value)
    assert "chunk pair p001 (partition 'p001|recipe-square')" in message
    assert "No space left on device" in message
    # The other pairs finished and are intact; nothing of the failed pair is left half-written.
    assert sorted(p.name for p in chunks.iterdir()) == [
        "chunk_000.last.png", "chunk_000.mp4", "chunk_002.last.png", "chunk_002.mp4",
        "p000.json", "p000.piece.mp4", "p002.json", "p002.piece.mp4",
    ]  # fmt: skip
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in chunks.glob("chunk_00[02]*")}

    report = Runner(settings, home, progress=quiet).render(spec, text)
    assert Path(report.final_uri).exists()
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in chunks.glob("chunk_00[02]*")}
    assert after == before  # reused, not made again
    assert json.loads((chunks / "p000.json").read_text())["cached"] is True
    assert json.loads((chunks / "p001.json").read_text())["cached"] is False
    event = instance.get_latest_materialization_event(dg.AssetKey("storyboard"))
    assert event is not None and event.asset_materialization is not None
    assert event.asset_materialization.metadata["cached"].value is True


def test_dagster_job_execute_on_a_registered_partition(settings, home, instance):
    spec = read_spec_text(TINY, "tiny.yaml")
    runner = Runner(settings, home, progress=quiet)
    runner.register(spec, TINY)
    dagster = Path(sys.executable).with_name("dagster")
    env = {**os.environ, "DAGSTER_HOME": str(home), "VIDGEN_DATA": str(settings.data_dir)}
    done = subprocess.run(
        [str(dagster), "job", "execute", "-m", "vidgen_assets.definitions", "-j", "prepare_video",
         "--tags", json.dumps({"dagster/partition": "tiny"})],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    video = settings.data_dir / "videos" / "tiny"
    assert json.loads((video / "spec.json").read_text())["spec"]["id"] == "tiny"
    assert (video / "storyboard" / "beat_00.png").exists()
    runs = instance.get_runs(dg.RunsFilter(job_name="prepare_video"))
    assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS]
    assert runs[0].tags["dagster/partition"] == "tiny"


def test_the_asset_graph(settings):
    from vidgen_assets.defs import build_definitions

    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {
        "video_spec", "storyboard", "chunk_pair", "music", "voice", "stitched_video", "soundtrack", "final_video",
    }  # fmt: skip
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert checks == {
        ("storyboard", "storyboard_image_per_beat"),
        ("stitched_video", "stitched_matches_plan"),
        ("final_video", "final_matches_spec"),
    }
    assert {getattr(job, "name", None) for job in defs.jobs or []} == {
        "prepare_video", "draw_storyboard", "chunk_pairs", "make_music", "assemble_video",
    }  # fmt: skip
    assert defs.resolve_job_def("chunk_pairs").partitions_def == pair_video
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
