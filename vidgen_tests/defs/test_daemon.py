"""The pipeline running itself: a real `dagster-daemon run` on a temporary DAGSTER_HOME, specs dropped
into a folder, artifacts in a real S3-compatible server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vidgen_tests.conftest import REPO, S3Server
from vidgen_tests.daemon import run_daemon_until, vidgen_env

pytestmark = [pytest.mark.daemon, pytest.mark.slow]

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
    shutil.copy(REPO / "vidgen_assets" / "dagster.yaml", home / "dagster.yaml")
    specs = tmp_path / "specs"
    specs.mkdir()
    wanted = {
        "daemon/videos/daemon-one/final.mp4",
        "daemon/videos/daemon-two/final.mp4",
        "daemon/rejected/daemon-bad.yaml.error.txt",
    }
    result = run_daemon_until(
        vidgen_env(tmp_path, home, s3, "daemon", specs), specs, {**GOOD, **BAD}, s3, "daemon/", wanted,
        tmp_path / "daemon.log", DEADLINE_S,
    )  # fmt: skip
    keys = result.keys
    assert wanted <= keys, f"after {result.elapsed_s:.0f} s, missing {sorted(wanted - keys)}\n{result.log_tail}"
    print(f"\ndaemon: two dropped specs to final videos in S3 in {result.elapsed_s:.1f} s")

    rejection = s3.client().get_object(Bucket=s3.bucket, Key="daemon/rejected/daemon-bad.yaml.error.txt")
    assert "duration: got -1; a video lasts 5 to 300 seconds" in rejection["Body"].read().decode()
    assert not any(k.startswith("daemon/videos/daemon-bad/") for k in keys)
    # Exactly the pairs each video has were rendered (one for the first, two for the second).
    assert {k for k in keys if "/chunks/chunk_" in k and k.endswith(".mp4")} == {
        "daemon/videos/daemon-one/chunks/chunk_000.mp4",
        "daemon/videos/daemon-two/chunks/chunk_000.mp4",
        "daemon/videos/daemon-two/chunks/chunk_001.mp4",
    }
