"""One writer per video: the lock on local disk and on S3 (moto over HTTP), held by real processes,
released when its owner dies; and two real `vidgen render` of one video."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vidgen_assets.media import runner as media_runner
from vidgen_assets.storage.lock import Holder, Locked, video_lock
from vidgen_assets.storage.s3 import S3Store
from vidgen_assets.storage.store import ArtifactStore, LocalStore

VIDGEN = str(Path(sys.executable).with_name("vidgen"))
HOLD = """
import sys, time
from pathlib import Path
from vidgen_assets.storage.lock import video_lock
from vidgen_assets.storage.s3 import S3Store
from vidgen_assets.storage.store import LocalStore
kind, where = sys.argv[1], sys.argv[2]
store = LocalStore(Path(where)) if kind == "local" else S3Store(where)
lock = video_lock(store, "ad", "the holder")
lock.acquire()
print("held", flush=True)
time.sleep(120)
"""


def hold_in_another_process(kind: str, where: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, kind, where], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def check_owner_death_releases(store: ArtifactStore, kind: str, where: str) -> None:
    holder = hold_in_another_process(kind, where)
    try:
        with pytest.raises(Locked) as refused:
            video_lock(store, "ad", "a second render").acquire()
        assert f"videos/ad is being written by the holder, pid {holder.pid} on " in str(refused.value)
        assert "wait for it to finish, or stop it" in str(refused.value)
    finally:
        holder.kill()
        holder.wait()
    with video_lock(store, "ad", "a second render", wait_s=5), pytest.raises(Locked):  # the dead owner's is free
        video_lock(store, "ad", "a third").acquire()
    with video_lock(store, "ad", "a third"):  # released on exit
        pass


@pytest.mark.slow
def test_local_lock_refuses_a_second_writer_and_dies_with_its_owner(tmp_path):
    check_owner_death_releases(LocalStore(tmp_path / "data"), "local", str(tmp_path / "data"))


@pytest.mark.slow
def test_s3_lock_refuses_a_second_writer_and_dies_with_its_owner(s3):
    store = S3Store(s3.bucket)
    check_owner_death_releases(store, "s3", s3.bucket)
    assert "locks/videos/ad.json" not in s3.keys("")  # released: the object is gone


def test_s3_lock_heartbeat_keeps_it_and_a_silent_owner_elsewhere_expires(s3):
    store = S3Store(s3.bucket, "pre")
    first = video_lock(store, "ad", "first")
    first.ttl_s = 1.0  # type: ignore[attr-defined]
    first.acquire()
    time.sleep(2.5)  # more than the TTL: only the heartbeat keeps it
    with pytest.raises(Locked, match="videos/ad is being written by first"):
        video_lock(store, "ad", "second").acquire()
    first.release()

    # A holder on another machine that stopped renewing: stale once its expiry has passed, not before.
    client = s3.client()
    for expires, free in ((time.time() + 300, False), (time.time() - 1, True)):
        record = Holder("a render elsewhere", "another-host", 4242, 1.0, "2026-01-01T00:00:00+00:00", expires)
        client.put_object(Bucket=s3.bucket, Key="pre/locks/videos/ad.json", Body=json.dumps(record.__dict__))
        lock = video_lock(store, "ad", "second")
        if free:
            lock.acquire()
            held = json.loads(client.get_object(Bucket=s3.bucket, Key="pre/locks/videos/ad.json")["Body"].read())
            assert held["what"] == "second" and held["pid"] == os.getpid()
            lock.release()
        else:
            with pytest.raises(Locked, match="a render elsewhere, pid 4242 on another-host"):
                lock.acquire()


@pytest.mark.slow
def test_two_clis_rendering_one_video_the_second_refuses(tmp_path):
    spec = tmp_path / "one.yaml"
    spec.write_text("prompt: one writer\nduration: 5\nresolution: 480p\nmusic: false\n")
    args = [VIDGEN, "render", str(spec), "--data-dir", str(tmp_path / "data"), "--dagster-home", str(tmp_path / "h")]
    # The first render's ffmpeg waits at a gate until the second CLI has tried, however slow the machine.
    gate = tmp_path / "go"
    ffmpeg = tmp_path / "gated-ffmpeg"
    ffmpeg.write_text(
        f'#!/bin/sh\nwhile [ ! -e "{gate}" ]; do sleep 0.1; done\nexec "{media_runner.ffmpeg_exe()}" "$@"\n'
    )
    ffmpeg.chmod(0o755)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**env, "VIDGEN_FFMPEG": str(ffmpeg)}
    )
    assert first.stdout is not None
    while "render_video" not in (line := first.stdout.readline()):
        assert line, first.stderr.read() if first.stderr else ""
    second = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False, env=env)
    gate.touch()
    assert second.returncode == 1
    assert f"video 'one': not rendered: videos/one is being written by vidgen render, pid {first.pid}" in second.stderr
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert out.strip().endswith(str(tmp_path / "data" / "videos" / "one" / "final.mp4"))
