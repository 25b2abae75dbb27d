"""Settings: the one place that reads the environment. Tests build `Settings` directly instead."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vidgen_assets.storage.store import ArtifactStore, LocalStore

DATA_ENV = "VIDGEN_DATA"
CHUNK_SECONDS_ENV = "VIDGEN_CHUNK_SECONDS"
MAX_PARALLEL_ENV = "VIDGEN_MAX_PARALLEL_PAIRS"
DEFAULT_DATA_DIR = "vidgen_data"


class SettingsError(ValueError):
    """A setting has a value vidgen cannot use."""


def _number(environ: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={raw!r} is out of range ({low:g}..{high:g})")
    return value


@dataclass(frozen=True)
class Settings:
    """Where artifacts go and how generation is laid out."""

    data_dir: Path
    chunk_seconds: float = 5.0
    """The animatic backend's chunk length (a Replicate model's comes from its registry entry)."""
    max_parallel_pairs: int = 4
    """How many chunk pairs the CLI runner renders at once."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            data_dir=Path(env.get(DATA_ENV) or DEFAULT_DATA_DIR).absolute(),
            chunk_seconds=_number(env, CHUNK_SECONDS_ENV, 5.0, 1.0, 30.0),
            max_parallel_pairs=int(_number(env, MAX_PARALLEL_ENV, 4, 1, 64)),
        )

    def store(self) -> ArtifactStore:
        return LocalStore(self.data_dir)

    @property
    def scratch_dir(self) -> Path:
        """Work files before they are stored; on the data dir's disk so moves are cheap."""
        return self.data_dir / ".scratch"
