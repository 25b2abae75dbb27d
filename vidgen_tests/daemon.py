"""Run a real `dagster-daemon` on a DAGSTER_HOME until artifacts appear in S3 (the daemon tests on
SQLite and on Postgres share it): start the daemon on the repository's workspace with the given
environment, drop spec files into a folder, wait for the wanted keys, stop it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from vidgen_tests.conftest import REPO, S3Server


@dataclass(frozen=True)
class DaemonResult:
    keys: set[str]
    """Every key under the prefix once the daemon stopped."""
    elapsed_s: float
    """From the first spec file written to the last wanted key seen (or the deadline)."""
    log_tail: str


def stop_group(process: subprocess.Popen[bytes], sig: int, timeout_s: float) -> None:
    """Stop a process started with `start_new_session=True` and its children: `sig`, then SIGKILL."""
    os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def bin_path(name: str) -> str:
    """A console script of this virtualenv (dagster-daemon, dagster, dagster-webserver)."""
    return str(Path(sys.executable).with_name(name))


def vidgen_env(tmp_path: Path, home: Path, s3: S3Server, prefix: str, specs: Path) -> dict[str, str]:
    """The process environment of a daemon rendering into `s3` under `prefix` (AWS_* come from the s3 fixture)."""
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "VIDGEN_STORAGE": "s3",
        "VIDGEN_S3_BUCKET": s3.bucket,
        "VIDGEN_S3_PREFIX": prefix,
        "VIDGEN_SPEC_DIR": str(specs),
        "VIDGEN_WORK_DIR": str(tmp_path / "work"),
        "VIDGEN_SENSOR_INTERVAL": "3",
    }


def run_daemon_until(
    env: Mapping[str, str],
    specs: Path,
    files: Mapping[str, str],
    s3: S3Server,
    prefix: str,
    wanted: set[str],
    log_path: Path,
    deadline_s: float,
    settled: Callable[[], bool] | None = None,
    settle_s: float = 120,
) -> DaemonResult:
    """Start `dagster-daemon run`, write `files` into `specs`, wait until `wanted` keys exist, then stop it.

    With `settled`, the daemon keeps running after that until `settled()` is true (e.g. no run in
    progress any more), at most `settle_s` seconds, so no run is cut off half-way."""
    log = log_path.open("w")
    daemon = subprocess.Popen(
        [bin_path("dagster-daemon"), "run", "-w", str(REPO / "workspace.yaml")],
        cwd=REPO, env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    start = time.monotonic()
    try:
        for name, text in files.items():
            (specs / name).write_text(text)
        while time.monotonic() - start < deadline_s:
            if wanted <= set(s3.keys(prefix)) or daemon.poll() is not None:
                break
            time.sleep(1)
        elapsed = time.monotonic() - start
        settle_until = time.monotonic() + settle_s
        while settled is not None and daemon.poll() is None and time.monotonic() < settle_until and not settled():
            time.sleep(1)
    finally:
        stop_group(daemon, signal.SIGINT, timeout_s=60)
        log.close()
    return DaemonResult(set(s3.keys(prefix)), elapsed, log_path.read_text()[-4000:])
