"""The pipeline running itself: a real `dagster-daemon run` on a temporary DAGSTER_HOME, specs dropped
into a folder, artifacts in a real S3-compatible server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from vidgen_tests.conftest import REPO, S3Server

DEADLINE_S = 480

GOOD = {
    "daemon-one.yaml": "prompt: first dropped spec\nduration: 5\nresolution: 480p\ncta: One\n",
    "daemon-two.yaml": (
        "prompt: second dropped spec\nduration: 10\nresolution: 480p\nmusic: false\nbeats:\n"
        "  - {name: a, duration: 5, prompt: x, transition: fade}\n  - {name: b, duration: 5, prompt: y}\n"
    ),
}
BAD = {"daemon-bad.yaml": "prompt: p\nduration: -1\n"}


def test_daemon_renders_dropped_specs_into_s3(tmp_path: Path, s3: S3Server):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    specs = tmp_path / "specs"
    specs.mkdir()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "VIDGEN_STORAGE": "s3",
        "VIDGEN_S3_BUCKET": s3.bucket,
        "VIDGEN_S3_PREFIX": "daemon",
        "VIDGEN_SPEC_DIR": str(specs),
        "VIDGEN_WORK_DIR": str(tmp_path / "work"),
        "VIDGEN_SENSOR_INTERVAL": "3",
    }
    log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", str(REPO / "workspace.yaml")],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    wanted = {
        "daemon/videos/daemon-one/final.mp4",
        "daemon/videos/daemon-two/final.mp4",
        "daemon/rejected/daemon-bad.yaml.error.txt",
    }
    start = time.monotonic()
    try:
        for name, text in {**GOOD, **BAD}.items():
            (specs / name).write_text(text)
        while time.monotonic() - start < DEADLINE_S:
            if wanted <= set(s3.keys("daemon/")) or daemon.poll() is not None:
                break
            time.sleep(2)
        elapsed = time.monotonic() - start
    finally:
        os.killpg(daemon.pid, signal.SIGINT)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
        log.close()
    keys = set(s3.keys("daemon/"))
    tail = (tmp_path / "daemon.log").read_text()[-4000:]
    assert wanted <= keys, f"after {elapsed:.0f} s, missing {sorted(wanted - keys)}\n{tail}"
    print(f"\ndaemon: two dropped specs to final videos in S3 in {elapsed:.1f} s")

    rejection = s3.client().get_object(Bucket=s3.bucket, Key="daemon/rejected/daemon-bad.yaml.error.txt")
    assert "duration: got -1; a video lasts 5 to 300 seconds" in rejection["Body"].read().decode()
    assert not any(k.startswith("daemon/videos/daemon-bad/") for k in keys)
    # Exactly the pairs each video has were rendered (one for the first, two for the second).
    assert {k for k in keys if "/chunks/chunk_" in k and k.endswith(".mp4")} == {
        "daemon/videos/daemon-one/chunks/chunk_000.mp4",
        "daemon/videos/daemon-two/chunks/chunk_000.mp4",
        "daemon/videos/daemon-two/chunks/chunk_001.mp4",
    }
