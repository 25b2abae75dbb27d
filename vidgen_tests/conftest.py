"""Shared fixtures: a temporary Dagster instance and data dir per test, real everything else."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from vidgen_assets.settings import Settings

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "specs"

warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh persistent Dagster instance directory (what `$DAGSTER_HOME` is for a user)."""
    path = tmp_path / "dagster_home"
    path.mkdir()
    return path


@pytest.fixture
def instance(home: Path) -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.from_config(str(home)) as inst:
        yield inst


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", chunk_seconds=5.0, max_parallel_pairs=2)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str
    server: Any = None

    def stop(self) -> None:
        """Stop the server before the test ends: S3 becomes unreachable."""
        self.server.stop()

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint)

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """A real S3-compatible HTTP server (moto) on 127.0.0.1 with a fresh bucket; AWS_* set to reach it."""
    from moto.server import ThreadedMotoServer

    # Port 0: the server binds a port of its own. (Picking a free port first and binding it later let
    # two test workers end up talking to one server.)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "vidgen-test-key",
        "AWS_SECRET_ACCESS_KEY": "vidgen-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # Moto keeps its buckets in process-wide memory, across servers: a fresh name per test keeps one
    # test's objects out of the next one's listing.
    import uuid

    found = S3Server(endpoint, f"vidgen-test-{uuid.uuid4().hex[:12]}", server)
    found.client().create_bucket(Bucket=found.bucket)
    try:
        yield found
    finally:
        server.stop()


@dataclass(frozen=True)
class PostgresServer:
    """A throwaway PostgreSQL server on 127.0.0.1 with one database for Dagster's storage."""

    host: str
    port: int
    user: str
    password: str
    db: str

    def dagster_env(self) -> dict[str, str]:
        """The DAGSTER_POSTGRES_* settings docker/dagster.yaml reads."""
        return {
            "DAGSTER_POSTGRES_HOST": self.host,
            "DAGSTER_POSTGRES_PORT": str(self.port),
            "DAGSTER_POSTGRES_USER": self.user,
            "DAGSTER_POSTGRES_PASSWORD": self.password,
            "DAGSTER_POSTGRES_DB": self.db,
        }


def postgres_bin() -> Path:
    """Debian's PostgreSQL server binaries (`.ci/run` installs the `postgresql` package when missing)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        pytest.fail(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
            "run `apt-get install -y postgresql` (.ci/run does it)"
        )
    return found[-1].parent


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server (initdb + pg_ctl) in a temp dir on a free loopback port, password auth.

    PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user."""
    import os
    import shutil
    import subprocess
    import tempfile

    bin_dir = postgres_bin()
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="vidgen-pg-"))
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres", "postgres")
    data, log = root / "data", root / "server.log"
    server = PostgresServer("127.0.0.1", free_port(), "dagster", "dagster-test-password", "dagster")
    pwfile = root / "pwfile"
    pwfile.write_text(server.password + "\n")
    if as_user:
        shutil.chown(pwfile, "postgres", "postgres")

    def run(*args: str, **kwargs: Any) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120, **kwargs)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    options = f"-c listen_addresses=127.0.0.1 -p {server.port} -c unix_socket_directories={root} -c fsync=off"
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", server.user, f"--pwfile={pwfile}",
            "--auth=scram-sha-256", "-E", "UTF8", "--no-instructions")  # fmt: skip
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        run(str(bin_dir / "createdb"), "-h", server.host, "-p", str(server.port), "-U", server.user, server.db,
            env={**os.environ, "PGPASSWORD": server.password})  # fmt: skip
        yield server
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                           capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def materialized(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    """The metadata (name -> value) of `asset`'s materialization in a run's result."""
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(asset)]
    materialization = event.step_materialization_data.materialization
    return {name: value.value for name, value in materialization.metadata.items()}
