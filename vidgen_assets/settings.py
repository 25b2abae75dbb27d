"""Settings: the one place that reads the environment. Tests build `Settings` directly instead."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from vidgen_assets.storage.store import ArtifactStore, LocalStore

if TYPE_CHECKING:
    from dagster_aws.s3 import S3Resource

DATA_ENV = "VIDGEN_DATA"
STORAGE_ENV = "VIDGEN_STORAGE"
BUCKET_ENV = "VIDGEN_S3_BUCKET"
PREFIX_ENV = "VIDGEN_S3_PREFIX"
SPEC_DIR_ENV = "VIDGEN_SPEC_DIR"
WORK_ENV = "VIDGEN_WORK_DIR"
CHUNK_SECONDS_ENV = "VIDGEN_CHUNK_SECONDS"
MAX_PARALLEL_ENV = "VIDGEN_MAX_PARALLEL_PAIRS"
STITCH_ENV = "VIDGEN_STITCH"
DEFAULT_DATA_DIR = "vidgen_data"
DEFAULT_SPEC_DIR = "specs"

StorageKind = Literal["local", "s3"]
StitchMode = Literal["copy", "reencode"]


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
    """Where artifacts go, where specs come from, and how generation is laid out."""

    data_dir: Path
    """The local artifact root (storage `local`), and the default home of local work files."""
    chunk_seconds: float = 5.0
    """The animatic backend's chunk length (a Replicate model's comes from its registry entry)."""
    max_parallel_pairs: int = 4
    """How many chunk pairs the CLI runner renders at once."""
    storage: StorageKind = "local"
    s3_bucket: str | None = None
    s3_prefix: str = ""
    spec_dir: str = DEFAULT_SPEC_DIR
    """Where the sensor looks for spec files: a local folder or `s3://bucket/prefix/`."""
    work_dir: Path | None = None
    """Local work files (scratch, downloads). Default: `<data_dir>/.work` locally, a temp dir with S3."""
    stitch: StitchMode = "copy"
    """`copy`: each pair burns its text into a piece once, in parallel; the serial tail renders only the
    transitions and joins pieces by stream copy. `reencode`: one full xfade re-encode, then another for
    text and music (the reference the copy path is tested against)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        storage = (env.get(STORAGE_ENV) or "local").strip().lower()
        if storage not in ("local", "s3"):
            raise SettingsError(f"{STORAGE_ENV}={storage!r}: use 'local' or 's3'")
        bucket = env.get(BUCKET_ENV) or None
        if storage == "s3" and not bucket:
            raise SettingsError(f"{STORAGE_ENV}=s3 needs {BUCKET_ENV} (the bucket that holds the artifacts)")
        work = env.get(WORK_ENV)
        stitch = (env.get(STITCH_ENV) or "copy").strip().lower()
        if stitch not in ("copy", "reencode"):
            raise SettingsError(f"{STITCH_ENV}={stitch!r}: use 'copy' or 'reencode'")
        return cls(
            data_dir=Path(env.get(DATA_ENV) or DEFAULT_DATA_DIR).absolute(),
            chunk_seconds=_number(env, CHUNK_SECONDS_ENV, 5.0, 1.0, 30.0),
            max_parallel_pairs=int(_number(env, MAX_PARALLEL_ENV, 4, 1, 64)),
            storage=cast(StorageKind, storage),
            s3_bucket=bucket,
            s3_prefix=(env.get(PREFIX_ENV) or "").strip("/"),
            spec_dir=env.get(SPEC_DIR_ENV) or DEFAULT_SPEC_DIR,
            work_dir=Path(work).absolute() if work else None,
            stitch=cast(StitchMode, stitch),
        )

    def store(self, s3: S3Resource | None = None) -> ArtifactStore:
        """The artifact store these settings name: the one place that chooses local or S3 (an S3 store's
        client comes from `s3`, dagster-aws's resource, by default one with the environment's AWS settings)."""
        if self.storage == "s3":
            from vidgen_assets.storage.s3 import S3Store

            if not self.s3_bucket:
                raise SettingsError(f"storage s3 needs {BUCKET_ENV}")
            return S3Store(self.s3_bucket, self.s3_prefix, cache_dir=self.work_root / "s3-cache", s3=s3)
        return LocalStore(self.data_dir)

    @property
    def work_root(self) -> Path:
        if self.work_dir is not None:
            return self.work_dir
        if self.storage == "s3":
            return Path(tempfile.gettempdir()) / "vidgen-work"
        return self.data_dir / ".work"

    @property
    def scratch_dir(self) -> Path:
        """Work files before they are stored; on the data dir's disk locally so copies are cheap."""
        return self.work_root / "scratch"
