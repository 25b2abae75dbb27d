"""The generation cache: an identical request to a paid model is never paid twice.

Content-addressed over the `ArtifactStore` (local or S3): the key is the sha256 of the model id, its
version and every input (prompt, seed, sizes, durations, and the sha256 of any input image instead of
its bytes). An entry is the model's output file at `cache/<sha256>.<ext>` plus a small JSON record at
`cache/<sha256>.json` (model, version, cost, prediction id), written last: a record means a whole,
validated file. Nothing secret goes into a record (no client, no headers, no token).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidgen_assets.core.fingerprint import fingerprint
from vidgen_assets.storage import layout
from vidgen_assets.storage.store import ArtifactStore


def request_key(model: str, version: str, inputs: dict[str, Any]) -> str:
    """The cache key of one model call (`inputs` with images replaced by their sha256)."""
    return fingerprint("replicate-generation", model, version, inputs)


@dataclass(frozen=True)
class CacheEntry:
    path: Path
    """A local file with the cached output."""
    record: dict[str, Any]


class GenerationCache:
    """Model outputs by request key, in a store."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    def get(self, key: str) -> CacheEntry | None:
        """The cached output of this request, or None (a missing file or record is a miss)."""
        record_key = layout.cache_key(key, ".json")
        if not self.store.exists(record_key):
            return None
        try:
            record = json.loads(self.store.get_bytes(record_key))
        except (ValueError, FileNotFoundError):
            return None
        if not isinstance(record, dict) or not isinstance(record.get("ext"), str):
            return None
        data_key = layout.cache_key(key, "." + record["ext"])
        if not self.store.exists(data_key):
            return None
        return CacheEntry(self.store.local_path(data_key), record)

    def put(self, key: str, src: Path, ext: str, record: dict[str, Any]) -> None:
        """Store a complete, validated output, then its record (which names the file's extension)."""
        self.store.put_file(layout.cache_key(key, "." + ext), src)
        body = {**record, "ext": ext, "key": key}
        self.store.put_bytes(layout.cache_key(key, ".json"), json.dumps(body, indent=2, sort_keys=True).encode("utf-8"))
