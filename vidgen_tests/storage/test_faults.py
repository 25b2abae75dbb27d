"""Faults midway through a write: a store that fails on its Nth write (a full disk), S3 failing
mid-save (moto over HTTP), a pair's ffmpeg killed mid-pair. Nothing half-written is trusted later, and
the next run makes exactly the broken piece again."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError

from vidgen_assets import stages
from vidgen_assets.backends.animatic import AnimaticBackend
from vidgen_assets.core.plan import Plan
from vidgen_assets.core.planner import plan_spec
from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts, cached_artifacts, load_artifacts, save_artifacts
from vidgen_assets.storage.s3 import S3Store
from vidgen_assets.storage.store import ArtifactStore, LocalStore, StoreError

pytestmark = pytest.mark.slow

SPEC = """
id: faults
prompt: two beats
duration: 10
resolution: 480p
music: false
beats:
  - {name: one, duration: 5, prompt: first, transition: fade}
  - {name: two, duration: 5, prompt: second, text: "%s"}
"""


class FailingStore(LocalStore):
    """A real local store whose Nth write, and every one after it, fails like a full disk."""

    def __init__(self, root: Path, fail_at: int) -> None:
        super().__init__(root)
        self.fail_at, self.writes = fail_at, 0

    def _write(self) -> None:
        self.writes += 1
        if self.writes >= self.fail_at:
            raise OSError(errno.ENOSPC, "No space left on device")

    def put_file(self, key: str, src: Path) -> None:
        self._write()
        super().put_file(key, src)

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write()
        super().put_bytes(key, data)


def plan_with(text: str) -> Plan:
    return plan_spec(read_spec_text(SPEC % text, "faults.yaml"), 5.0)


class Pipeline:
    """The stages as the Dagster assets run them, on one store, with fresh scratch dirs."""

    def __init__(self, store: ArtifactStore, tmp_path: Path) -> None:
        self.store, self.tmp, self.backend, self.n = store, tmp_path, AnimaticBackend(chunk_seconds=5.0), 0

    def scratch(self) -> Path:
        self.n += 1
        path = self.tmp / "scratch" / str(self.n)
        path.mkdir(parents=True)
        return path

    def storyboard(self, plan: Plan) -> Artifacts:
        board = stages.storyboard(plan, self.backend, self.store, self.scratch())
        save_artifacts(self.store, board)
        loaded = load_artifacts(self.store, plan.video_id, board.manifest)
        assert loaded is not None
        return loaded

    def pair(self, plan: Plan, board: Artifacts, index: int) -> Artifacts:
        beat = plan.beats[index]
        image = board.path(layout.storyboard_image(beat.index))
        return stages.chunk_pair(plan, beat, image, self.backend, self.store, self.scratch())


def trusted(store: ArtifactStore, out: Artifacts, *fingerprints: str) -> list[str]:
    return [fp for fp in fingerprints if cached_artifacts(store, out.video_id, out.manifest, fp) is not None]


def render_old(store: ArtifactStore, tmp_path: Path) -> str:
    """Both pairs rendered with the old text; the old fingerprint of the second pair."""
    run = Pipeline(store, tmp_path)
    old = plan_with("Before")
    board = run.storyboard(old)
    for i in range(2):
        save_artifacts(store, run.pair(old, board, i))
    fp = run.pair(old, board, 1).fingerprint
    assert fp is not None
    return fp


def check_failed_save(store: ArtifactStore, broken: ArtifactStore, old_fp: str, tmp_path: Path, repair: bool) -> None:
    """Change the second beat's text and save that pair's new output through `broken` (which fails
    midway): neither its old nor its new output may be trusted; the next run remakes that pair only."""
    run = Pipeline(store, tmp_path)
    new = plan_with("After")
    board = load_artifacts(store, "faults", layout.MANIFESTS["storyboard"])
    assert board is not None
    remade = run.pair(new, board, 1)
    assert remade.record["cached"] is False and remade.fingerprint is not None

    with pytest.raises((OSError, StoreError)):
        save_artifacts(broken, remade)
    assert trusted(store, remade, old_fp, remade.fingerprint) == []
    if not repair:
        return
    again = run.pair(new, board, 1)  # the next run
    assert again.record["cached"] is False  # made again...
    save_artifacts(store, again)
    assert trusted(store, again, remade.fingerprint) == [remade.fingerprint]
    assert run.pair(new, board, 0).record["cached"] is True  # ...and only that pair


def test_a_store_failing_on_the_nth_write_leaves_nothing_trusted(tmp_path):
    template = tmp_path / "template"
    old_fp = render_old(LocalStore(template), tmp_path / "old")
    # How many writes saving a pair takes (chunk, last frame, piece, edges, manifest); then fail at each.
    counting = FailingStore(tmp_path / "count", fail_at=10**9)
    shutil.copytree(template, tmp_path / "count")
    board = load_artifacts(counting, "faults", layout.MANIFESTS["storyboard"])
    assert board is not None
    save_artifacts(counting, Pipeline(counting, tmp_path / "counting").pair(plan_with("After"), board, 1))
    assert counting.writes >= 3
    for fail_at in range(1, counting.writes + 1):
        data = tmp_path / f"fail-{fail_at}"
        shutil.copytree(template, data)
        repair = fail_at == counting.writes  # the repair once: the last write (the manifest) failed
        check_failed_save(LocalStore(data), FailingStore(data, fail_at), old_fp, tmp_path / f"run-{fail_at}", repair)


def test_s3_failing_mid_save_leaves_nothing_trusted(s3, tmp_path):
    store = S3Store(s3.bucket, "v", cache_dir=tmp_path / "cache")
    broken = S3Store(s3.bucket, "v", cache_dir=tmp_path / "cache")
    requests = {"n": 0}

    def network_dies_after_two_objects(request: Any, **_: Any) -> None:
        requests["n"] += 1
        if requests["n"] > 2:
            raise ConnectionClosedError(endpoint_url=s3.endpoint)

    old_fp = render_old(store, tmp_path / "old")
    broken.client.meta.events.register("before-send.s3.PutObject", network_dies_after_two_objects)
    check_failed_save(store, broken, old_fp, tmp_path / "new", repair=True)
    assert requests["n"] > 2


def test_an_ffmpeg_killed_mid_pair_fails_that_pair_keeps_the_other_and_the_next_run_remakes_only_it(tmp_path):
    from vidgen_tests.test_processes import VIDGEN, pair_ffmpegs, wait_for_pair_stage

    spec = tmp_path / "faults.yaml"
    spec.write_text(SPEC % "Killed")
    args = [VIDGEN, "render", str(spec), "--data-dir", str(tmp_path / "data"), "--dagster-home", str(tmp_path / "h")]
    log = tmp_path / "render.out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "VIDGEN_MAX_PARALLEL_PAIRS": "1"}  # one pair, then the other
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.PIPE, env=env)
    tree = wait_for_pair_stage(proc, log)
    pair_ffmpegs(tree)[0].kill()  # the OOM killer's way: SIGKILL, no word
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, log.read_text()
    assert "1 of 2 chunk pair(s) failed (the others are stored)" in err.decode()
    assert "ffmpeg exited with code -9" in err.decode()

    chunks = tmp_path / "data" / "videos" / "faults" / "chunks"
    finished = {m.name: json.loads(m.read_text())["files"] for m in chunks.glob("p*.json")}
    assert len(finished) == 1, finished  # the pair the kill did not touch is stored whole
    kept = {name: (chunks.parent / name).stat().st_mtime_ns for files in finished.values() for name in files}
    kept |= {f"chunks/{name}": (chunks / name).stat().st_mtime_ns for name in finished}
    again = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    assert {name: (chunks.parent / name).stat().st_mtime_ns for name in kept} == kept  # reused untouched
    [remade] = {"p000.json", "p001.json"} - set(finished)
    assert json.loads((chunks / remade).read_text())["cached"] is False
