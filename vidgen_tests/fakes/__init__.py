"""Fakes that real clients talk to over real HTTP on 127.0.0.1, and their pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vidgen_tests.fakes.comfyui_server import FakeComfyUI
from vidgen_tests.fakes.replicate_server import TOKEN, FakeReplicate, Outcome

__all__ = ["TOKEN", "FakeComfyUI", "FakeReplicate", "Outcome", "fake_replicate", "replicate_env"]


@pytest.fixture
def fake_replicate() -> Iterator[FakeReplicate]:
    """A fresh fake Replicate API for one test."""
    server = FakeReplicate().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def replicate_env(fake_replicate: FakeReplicate, monkeypatch: pytest.MonkeyPatch) -> FakeReplicate:
    """The official client's variables pointed at the fake (worker processes inherit them)."""
    monkeypatch.setenv("REPLICATE_API_TOKEN", fake_replicate.token)
    monkeypatch.setenv("REPLICATE_BASE_URL", fake_replicate.url)
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.05")
    monkeypatch.delenv("VIDGEN_PRICES", raising=False)
    return fake_replicate
