"""One writer per video: the lock on local disk and on S3 (moto over HTTP), held by real processes,
released when its owner dies; and two real `vidgen render` of one video."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from vidgen_assets.media import runner as media_runner
from vidgen_assets.storage.artifacts import Artifacts, save_artifacts
from vidgen_assets.storage.lock import Holder, Locked, LockLost, S3Lock, StoreLock, artifact_lock, video_lock
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


def held_s3_lock(lock: StoreLock) -> S3Lock:
    assert isinstance(lock, S3Lock)
    lock.ttl_s = 1.0  # renewed every 0.25 s
    lock.acquire()
    return lock


def wait_until_lost(lock: S3Lock) -> None:
    """Until the owner's heartbeat has found its renewal failing (however slow the machine)."""
    deadline = time.monotonic() + 120
    while lock.lost is None:
        assert time.monotonic() < deadline, "the heartbeat never found its renewal failing"
        time.sleep(0.05)


def test_an_s3_owner_whose_lock_was_taken_over_stops_writing_and_keeps_what_it_stored(s3, tmp_path):
    store = S3Store(s3.bucket, "pre")
    client = s3.client()
    lock = held_s3_lock(video_lock(store, "ad", "vidgen render"))
    try:
        (tmp_path / "a.mp4").write_bytes(b"first clip")
        save_artifacts(store, Artifacts("ad", "chunks/p000.json", {"chunks/a.mp4": tmp_path / "a.mp4"}))
        # Another writer takes the lock behind the owner's back: the owner's conditional renewal now fails.
        other = Holder("a render elsewhere", "another-host", 4242, 1.0, "2026-01-01T00:00:00+00:00", time.time() + 300)
        client.put_object(Bucket=s3.bucket, Key="pre/locks/videos/ad.json", Body=json.dumps(other.__dict__))
        wait_until_lost(lock)
        (tmp_path / "b.mp4").write_bytes(b"second clip")
        for write in (
            lambda: save_artifacts(store, Artifacts("ad", "chunks/p000.json", {"chunks/b.mp4": tmp_path / "b.mp4"})),
            lambda: store.put_bytes("videos/ad/final.json", b"{}"),
            lambda: store.delete("videos/ad/chunks/a.mp4"),
        ):
            with pytest.raises(LockLost) as lost:
                write()
            assert str(lost.value).startswith(
                f"video 'ad': lost the lock s3://{s3.bucket}/pre/locks/videos/ad.json (vidgen render): "
                "it was taken over or removed by another writer"
            )
            assert "stopped writing (what was stored before is kept)" in str(lost.value)
        store.put_bytes("videos/other/note.txt", b"another video's folder is not this lock's")
    finally:
        lock.release()
    # Nothing after the loss; everything before it kept; the new holder's lock left alone.
    assert s3.keys("pre/") == [
        "pre/locks/videos/ad.json", "pre/videos/ad/chunks/a.mp4", "pre/videos/ad/chunks/p000.json",
        "pre/videos/other/note.txt",
    ]  # fmt: skip
    held = json.loads(client.get_object(Bucket=s3.bucket, Key="pre/locks/videos/ad.json")["Body"].read())
    assert held["what"] == "a render elsewhere"
    # A new lock of the video is a fresh start: it writes again.
    client.delete_object(Bucket=s3.bucket, Key="pre/locks/videos/ad.json")
    with video_lock(store, "ad", "a new render"):
        store.put_bytes("videos/ad/final.json", b"{}")
    assert "pre/videos/ad/final.json" in s3.keys("pre/")


def test_an_s3_owner_whose_lock_was_removed_stops_in_the_middle_of_saving(s3, tmp_path):
    store = S3Store(s3.bucket)
    lock = held_s3_lock(artifact_lock(store, "ad", "final.json", "run 1"))
    try:
        s3.client().delete_object(Bucket=s3.bucket, Key="locks/artifacts/ad/final.json.json")
        wait_until_lost(lock)
        (tmp_path / "final.mp4").write_bytes(b"video")
        with pytest.raises(LockLost, match=r"video 'ad': lost the lock s3://\S+/locks/artifacts/ad/final.json.json"):
            save_artifacts(store, Artifacts("ad", "final.json", {"final.mp4": tmp_path / "final.mp4"}))
    finally:
        lock.release()
    assert s3.keys("") == []


def test_an_s3_owner_that_cannot_reach_s3_to_renew_its_lock_stops_writing(s3):
    store = S3Store(s3.bucket)
    lock = held_s3_lock(video_lock(store, "ad", "vidgen render"))
    try:
        s3.stop()  # the endpoint is gone: renewal fails through the client's retries
        wait_until_lost(lock)
        with pytest.raises(LockLost, match=r"video 'ad': lost the lock .*: renewing it failed: Could not connect"):
            store.put_bytes("videos/ad/final.json", b"{}")
    finally:
        lock.release()  # does not raise: the lost lock is not deleted


def gated_ffmpeg(tmp_path: Path, gate: Path, waiting: Path) -> Path:
    """An ffmpeg that touches `waiting`, then waits until `gate` exists before it runs."""
    ffmpeg = tmp_path / "gated-ffmpeg"
    ffmpeg.write_text(
        f'#!/bin/sh\ntouch "{waiting}"\nwhile [ ! -e "{gate}" ]; do sleep 0.1; done\n'
        f'exec "{media_runner.ffmpeg_exe()}" "$@"\n'
    )
    ffmpeg.chmod(0o755)
    return ffmpeg


def test_a_render_whose_s3_lock_is_taken_fails_and_writes_nothing_after(s3, tmp_path, home):
    from vidgen_assets.core.spec import read_spec_text
    from vidgen_assets.runner import RenderFailed, Runner
    from vidgen_assets.settings import Settings
    from vidgen_assets.storage import lock as locks

    # The render's first ffmpeg waits at a gate while its lock is taken from it, however slow the machine.
    gate, waiting = tmp_path / "go", tmp_path / "waiting"
    ffmpeg = gated_ffmpeg(tmp_path, gate, waiting)
    settings = Settings(
        data_dir=tmp_path / "unused", storage="s3", s3_bucket=s3.bucket, s3_prefix="r", ffmpeg=str(ffmpeg)
    )
    text = "id: taken\nprompt: one writer\nduration: 5\nresolution: 480p\nmusic: false\n"
    before_loss: list[str] = []

    finished = threading.Event()

    def take_the_lock() -> None:
        try:
            while not waiting.exists():
                if finished.wait(0.05):
                    return  # the render ended before its first ffmpeg: the assertions below say how
            other = Holder("a render elsewhere", "another-host", 4242, 1.0, "2026-01-01T00:00:00", time.time() + 300)
            s3.client().put_object(Bucket=s3.bucket, Key="r/locks/videos/taken.json", Body=json.dumps(other.__dict__))
            [held] = [lock for lock in locks._HELD if lock.name == "videos/taken"]  # the render's, in this process
            wait_until_lost(held)  # the render's heartbeat (every 15 s) found it taken
            before_loss.extend(s3.keys("r/"))
        finally:
            gate.touch()

    thief = threading.Thread(target=take_the_lock)
    thief.start()
    try:
        with pytest.raises(RenderFailed) as failed:
            Runner(settings, home, progress=lambda _: None).render(read_spec_text(text, "taken.yaml"), text)
    finally:
        finished.set()
        thief.join()
    assert f"video 'taken': lost the lock s3://{s3.bucket}/r/locks/videos/taken.json (vidgen render)" in str(
        failed.value
    )
    # What was stored before the loss is kept, nothing was written after it, the new holder's lock is left.
    assert "r/videos/taken/spec.json" in before_loss and "r/locks/videos/taken.json" in before_loss
    assert s3.keys("r/") == before_loss
    assert "r/videos/taken/final.mp4" not in before_loss


@pytest.mark.slow
def test_two_clis_rendering_one_video_the_second_refuses(tmp_path):
    spec = tmp_path / "one.yaml"
    spec.write_text("prompt: one writer\nduration: 5\nresolution: 480p\nmusic: false\n")
    args = [VIDGEN, "render", str(spec), "--data-dir", str(tmp_path / "data"), "--dagster-home", str(tmp_path / "h")]
    # The first render's ffmpeg waits at a gate until the second CLI has tried, however slow the machine.
    gate = tmp_path / "go"
    ffmpeg = gated_ffmpeg(tmp_path, gate, tmp_path / "waiting")
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
