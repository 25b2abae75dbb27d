"""The CLI owns its processes: real `vidgen render` processes, stopped by SIGTERM or killed by SIGKILL
in their chunk-pair step; no ffmpeg is left running, no run stays "in progress", nothing finished is
made again."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import psutil
import pytest

from vidgen_assets.processes import IN_FLIGHT, Owner
from vidgen_assets.storage.layout import CONTACT_SHEET, MANIFESTS

pytestmark = pytest.mark.slow

VIDGEN = str(Path(sys.executable).with_name("vidgen"))
SPEC = """\
prompt: three beats
duration: 15
resolution: 480p
beats:
  - {name: a, duration: 5, prompt: one}
  - {name: b, duration: 5, prompt: two}
  - {name: c, duration: 5, prompt: three}
"""


def start_render(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    spec = tmp_path / "three.yaml"
    spec.write_text(SPEC)
    log = tmp_path / "render.out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "VIDGEN_MAX_PARALLEL_PAIRS": "2"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [VIDGEN, "render", str(spec), "--data-dir", str(tmp_path / "data"),
             "--dagster-home", str(tmp_path / "home")],
            stdout=out, stderr=subprocess.PIPE, env=env,
        )  # fmt: skip
    return proc, log


def wait_for_pair_stage(proc: subprocess.Popen[bytes], log: Path) -> list[psutil.Process]:
    """Wait until the render's chunk_pairs step runs a pair's ffmpeg; return every process the CLI has
    started by then."""
    cli = psutil.Process(proc.pid)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        if "chunk pairs:" in log.read_text():
            tree = cli.children(recursive=True)
            if pair_ffmpegs(tree):
                return tree
        time.sleep(0.1)
    raise AssertionError(f"the render never reached a pair's ffmpeg:\n{log.read_text()}")


def pair_ffmpegs(tree: list[psutil.Process]) -> list[psutil.Process]:
    """The ffmpeg processes making a chunk (not, say, `ffmpeg -version` run to find the binary)."""
    return [p for p in tree if _name(p).startswith("ffmpeg") and any("chunk_" in a for a in _cmdline(p))]


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.Error:
        return ""


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def _ppid(process: psutil.Process) -> int | None:
    try:
        return process.ppid()
    except psutil.Error:
        return None


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


def left_running(processes: list[psutil.Process], within_s: float) -> list[psutil.Process]:
    _, alive = psutil.wait_procs(processes, timeout=within_s)
    return [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def stored(video: Path) -> dict[str, tuple[int, str]]:
    """Every file stored under a video's folder: its path there, when it was last written and its sha256."""
    return {
        path.relative_to(video).as_posix(): (path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
        for path in sorted(video.rglob("*"))
        if path.is_file()
    }


def runs(home: Path) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return list(instance.get_runs())


def test_sigterm_stops_ffmpeg_cancels_the_run_and_exits_143(tmp_path):
    proc, log = start_render(tmp_path)
    tree = wait_for_pair_stage(proc, log)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 143
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidgen: stopped by SIGTERM: ended "), stderr.decode()
    assert left_running(tree, within_s=1) == []
    statuses = [run.status for run in runs(tmp_path / "home")]
    assert not set(statuses) & set(IN_FLIGHT)
    assert dg.DagsterRunStatus.CANCELED in statuses


def test_after_kill_9_nothing_is_left_and_the_next_render_fails_orphans_and_remakes_nothing(tmp_path):
    proc, log = start_render(tmp_path)
    tree = wait_for_pair_stage(proc, log)
    cli = psutil.Process(proc.pid)
    assert pair_ffmpegs(tree), [_cmdline(p)[:2] for p in tree]
    proc.kill()
    proc.wait(timeout=10)
    left = left_running(tree, within_s=10)
    assert left == [], [(p.pid, _cmdline(p)[:3]) for p in left]  # the figure: processes left 10 s after kill -9
    assert not cli.is_running()

    home = tmp_path / "home"
    orphans = [r for r in runs(home) if r.status in IN_FLIGHT]
    assert orphans, "a render killed in its pair stage leaves runs in progress"
    assert all(Owner.from_tags(dict(r.tags)) is not None for r in orphans)
    video = tmp_path / "data" / "videos" / "three"
    before = stored(video)
    beats = {f"storyboard/beat_{i:02d}.png" for i in range(3)}
    assert beats <= set(before), sorted(before)  # killed in its pairs, the render had made its storyboard
    # What the next render writes again by design: its manifests, and the contact sheet drawn from the images.
    rewritten = {name for name in before if name.endswith(".json") or name == CONTACT_SHEET}
    made = {name: before[name] for name in sorted(set(before) - rewritten)}

    again = subprocess.run(
        [VIDGEN, "render", str(tmp_path / "three.yaml"), "--data-dir", str(tmp_path / "data"),
         "--dagster-home", str(home)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"marked {len(orphans)} earlier run(s) failed: the process that ran them is gone" in again.stdout
    after = runs(home)
    assert [r.run_id for r in after if r.status in IN_FLIGHT] == []  # the figure: runs left STARTED
    assert {r.run_id for r in after if r.status == dg.DagsterRunStatus.FAILURE} >= {r.run_id for r in orphans}
    # Nothing finished is made again: each file made before the kill is the very file it was (same bytes,
    # never written again), and the storyboard was taken from the store as it was.
    now = stored(video)
    assert {name: now.get(name) for name in made} == made
    assert rewritten <= set(now)
    assert json.loads((video / MANIFESTS["storyboard"]).read_text())["cached"] is True
