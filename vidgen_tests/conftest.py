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

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "vidgen-test-key",
        "AWS_SECRET_ACCESS_KEY": "vidgen-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    found = S3Server(endpoint, "vidgen-test")
    found.client().create_bucket(Bucket=found.bucket)
    try:
        yield found
    finally:
        server.stop()
