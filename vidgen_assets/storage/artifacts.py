"""An asset's output as real files plus a JSON manifest, saved to and loaded from a store.

An asset makes its files in a scratch directory and returns `Artifacts`; saving puts every file at its
key under `videos/<id>/`, then the manifest last (the manifest's presence means the output is whole).
Files listed in `stored` are already in the store, unchanged (an asset that found its output cached),
and are not written again.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidgen_assets.core.fingerprint import fingerprint
from vidgen_assets.core.plan import Plan
from vidgen_assets.storage import layout
from vidgen_assets.storage.store import ArtifactStore


@dataclass
class Artifacts:
    """Files (keyed relative to the video's prefix) and the record that describes them."""

    video_id: str
    manifest: str
    """The manifest's key relative to the video, e.g. `chunks/p003.json`."""
    files: dict[str, Path]
    """Local paths of the files."""
    record: dict[str, Any] = field(default_factory=dict)
    scratch: Path | None = None
    """A directory to delete once the files are stored."""
    stored: frozenset[str] = frozenset()
    """Files already in the store, unchanged."""

    def path(self, relative: str) -> Path:
        """The local path of one of the files."""
        return self.files[relative]

    @property
    def fingerprint(self) -> str | None:
        value = self.record.get("fingerprint")
        return str(value) if value is not None else None


@dataclass
class PairSet:
    """A video's chunk pairs (the `chunk_pairs` asset): pair key -> its stored output, in plan order.
    Each pair is stored on its own (`chunks/p003.json`), as soon as it is made."""

    video_id: str
    pairs: dict[str, Artifacts]

    @property
    def fingerprint(self) -> str:
        return fingerprint("pairs", [(k, p.fingerprint) for k, p in self.pairs.items()])

    @property
    def cost_usd(self) -> float:
        return float(sum(float(p.record.get("cost_usd", 0.0)) for p in self.pairs.values()))


def save_artifacts(store: ArtifactStore, artifacts: Artifacts) -> list[str]:
    """Store the files, then the manifest. Return the keys written.

    An older manifest is removed first: from the first file overwritten until the new manifest is
    written, the output is not whole, and a write failing in between (a full disk, an S3 error) must
    not leave an old manifest vouching for files that have changed under it."""
    written = []
    manifest_key = layout.video_key(artifacts.video_id, artifacts.manifest)
    try:
        if store.exists(manifest_key):
            store.delete(manifest_key)
        for relative, path in sorted(artifacts.files.items()):
            if relative not in artifacts.stored:
                key = layout.video_key(artifacts.video_id, relative)
                store.put_file(key, path)
                written.append(key)
        manifest = {**artifacts.record, "files": sorted(artifacts.files)}
        store.put_bytes(manifest_key, json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8"))
        written.append(manifest_key)
    finally:
        if artifacts.scratch is not None:
            shutil.rmtree(artifacts.scratch, ignore_errors=True)
    return written


def read_manifest(store: ArtifactStore, video_id: str, manifest: str) -> dict[str, Any] | None:
    """The stored manifest, or None when the output does not exist (yet)."""
    key = layout.video_key(video_id, manifest)
    if not store.exists(key):
        return None
    data = json.loads(store.get_bytes(key))
    return data if isinstance(data, dict) else None


def load_artifacts(store: ArtifactStore, video_id: str, manifest: str) -> Artifacts | None:
    """Load an output with local paths to its files, or None when it does not exist."""
    record = read_manifest(store, video_id, manifest)
    if record is None:
        return None
    relatives = record.pop("files", [])
    files = {rel: store.local_path(layout.video_key(video_id, rel)) for rel in relatives}
    return Artifacts(video_id=video_id, manifest=manifest, files=files, record=record, stored=frozenset(relatives))


def cached_artifacts(store: ArtifactStore, video_id: str, manifest: str, fingerprint: str) -> Artifacts | None:
    """The stored output if it was made from exactly these inputs (same fingerprint) and is whole."""
    record = read_manifest(store, video_id, manifest)
    if record is None or record.get("fingerprint") != fingerprint:
        return None
    relatives = record.get("files", [])
    if not all(store.exists(layout.video_key(video_id, rel)) for rel in relatives):
        return None
    return load_artifacts(store, video_id, manifest)


def save_plan(store: ArtifactStore, plan: Plan) -> str:
    key = layout.video_key(plan.video_id, layout.PLAN)
    store.put_bytes(key, plan.model_dump_json(indent=2).encode("utf-8"))
    return key


def load_plan(store: ArtifactStore, video_id: str) -> Plan | None:
    key = layout.video_key(video_id, layout.PLAN)
    if not store.exists(key):
        return None
    return Plan.model_validate_json(store.get_bytes(key))
