"""Shared fixtures: a temporary Dagster instance and data dir per test, real everything else."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

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
