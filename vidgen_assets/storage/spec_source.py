"""Where the sensor finds spec files: a local folder or an S3 prefix (`s3://bucket/specs/`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidgen_assets.storage.store import ArtifactStore, LocalStore, StoreError

if TYPE_CHECKING:
    from dagster_aws.s3 import S3Resource

SPEC_SUFFIXES = (".yaml", ".yml", ".json")
MAX_SPEC_BYTES = 1_000_000
"""A spec is a few kB; a bigger file is not read (parsing megabytes of YAML would stall a sensor tick)."""


class SpecFileError(ValueError):
    """A file in the spec folder that is not read as a spec: too big, a link out of the folder, gone."""


def spec_store(
    location: str, cache_dir: Path | None = None, s3: S3Resource | None = None, client: Any = None
) -> ArtifactStore:
    """A store over the spec location (top-level files only are specs); an S3 one gets its client from
    `s3` (dagster-aws's resource), or is given it (`client`)."""
    if location.startswith("s3://"):
        from vidgen_assets.storage.s3 import S3Store, parse_s3_uri

        bucket, prefix = parse_s3_uri(location)
        return S3Store(bucket, prefix, cache_dir=cache_dir, s3=s3, client=client)
    return LocalStore(Path(location))


def spec_files(store: ArtifactStore) -> list[str]:
    """The spec files directly in the location (not in sub-folders), sorted. Locally only the folder
    itself is read: a sub-folder, or a link to one (to `/`, say), is never walked."""
    if isinstance(store, LocalStore):
        try:
            with os.scandir(store.root) as entries:
                names = [e.name for e in entries if e.is_file()]
        except FileNotFoundError:
            return []
    else:
        names = [k for k in store.list("") if "/" not in k]
    return sorted(k for k in names if k.lower().endswith(SPEC_SUFFIXES) and not k.startswith("."))


def read_spec_file(store: ArtifactStore, name: str) -> bytes:
    """The bytes of one spec file, or `SpecFileError` saying why it is not read: larger than
    `MAX_SPEC_BYTES`, a symlink to a file outside the spec folder, or unreadable (removed meanwhile...)."""
    if isinstance(store, LocalStore):
        path = store.root / name
        try:
            if path.is_symlink():
                target = path.resolve(strict=True)
                if not target.is_relative_to(store.root.resolve()):
                    raise SpecFileError(f"a symlink to {target}, outside the spec folder: not followed")
            size = path.stat().st_size
        except OSError as exc:
            raise SpecFileError(f"cannot read the file: {exc.strerror or exc}") from None
        _check_size(size)
    try:
        data = store.get_bytes(name)
    except (OSError, StoreError) as exc:
        raise SpecFileError(f"cannot read the file: {exc}") from None
    _check_size(len(data))
    return data


def _check_size(size: int) -> None:
    if size > MAX_SPEC_BYTES:
        raise SpecFileError(f"{size:,} bytes: a spec file is at most {MAX_SPEC_BYTES:,} bytes")
