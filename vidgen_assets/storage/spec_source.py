"""Where the sensor finds spec files: a local folder or an S3 prefix (`s3://bucket/specs/`)."""

from __future__ import annotations

from pathlib import Path

from vidgen_assets.storage.store import ArtifactStore, LocalStore

SPEC_SUFFIXES = (".yaml", ".yml", ".json")


def spec_store(location: str, cache_dir: Path | None = None) -> ArtifactStore:
    """A store over the spec location (top-level files only are specs)."""
    if location.startswith("s3://"):
        from vidgen_assets.storage.s3 import S3Store

        bucket, _, prefix = location[len("s3://") :].partition("/")
        if not bucket:
            raise ValueError(f"spec location {location!r} names no bucket (use s3://bucket/prefix/)")
        return S3Store(bucket, prefix, cache_dir=cache_dir)
    return LocalStore(Path(location))


def spec_files(store: ArtifactStore) -> list[str]:
    """The spec files directly in the location (not in sub-folders), sorted."""
    return [k for k in store.list("") if "/" not in k and k.lower().endswith(SPEC_SUFFIXES) and not k.startswith(".")]
