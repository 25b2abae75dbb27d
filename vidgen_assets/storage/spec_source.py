"""Where the sensor finds spec files: a local folder or an S3 prefix (`s3://bucket/specs/`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vidgen_assets.storage.store import ArtifactStore, LocalStore

if TYPE_CHECKING:
    from dagster_aws.s3 import S3Resource

SPEC_SUFFIXES = (".yaml", ".yml", ".json")


def spec_store(location: str, cache_dir: Path | None = None, s3: S3Resource | None = None) -> ArtifactStore:
    """A store over the spec location (top-level files only are specs); an S3 one gets its client from
    `s3` (dagster-aws's resource)."""
    if location.startswith("s3://"):
        from vidgen_assets.storage.s3 import S3Store, parse_s3_uri

        bucket, prefix = parse_s3_uri(location)
        return S3Store(bucket, prefix, cache_dir=cache_dir, s3=s3)
    return LocalStore(Path(location))


def spec_files(store: ArtifactStore) -> list[str]:
    """The spec files directly in the location (not in sub-folders), sorted."""
    return [k for k in store.list("") if "/" not in k and k.lower().endswith(SPEC_SUFFIXES) and not k.startswith(".")]
