"""The storyboard stage: one image per beat (an unchanged beat keeps its image) and the contact sheet."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from PIL import Image

from vidgen_assets.backends.base import Backend
from vidgen_assets.core.fingerprint import digest_bytes, fingerprint
from vidgen_assets.core.generation import ImageRequest, ReferenceImage
from vidgen_assets.core.plan import Plan, PlannedBeat
from vidgen_assets.media import preview
from vidgen_assets.recipes import recipe
from vidgen_assets.references import beat_reference_paths
from vidgen_assets.settings import ContextPool
from vidgen_assets.stages.common import (
    _cached,
    _cost,
    _frame,
    _generation_record,
    backend_identity,
    beat_references,
    reference_identity,
)
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts, read_manifest
from vidgen_assets.storage.store import ArtifactStore


def image_request(plan: Plan, beat: PlannedBeat, references: tuple[ReferenceImage, ...] = ()) -> ImageRequest:
    """What the backend is asked for one beat's storyboard image."""
    spec = plan.spec
    return ImageRequest(
        video_id=plan.video_id, beat_index=beat.index, beat_count=len(plan.beats), beat_name=beat.name,
        prompt=beat.prompt, camera=beat.camera, start_frame=beat.start_frame,
        end_frame=beat.end_frame, frame=_frame(plan), palette=spec.style.palette,
        aesthetic=spec.style.aesthetic, seed=spec.seed + beat.index, references=references,
        captions_burnt=spec.subtitle_mode == "burn" and bool(beat.say),
    )  # fmt: skip


def storyboard_fingerprint(plan: Plan, identity: str, reference_backend: str = "") -> str:
    """What the whole storyboard depends on (`identity`: the backend's, see `backend_identity`;
    `reference_backend`: how it draws references, its `reference_identity`)."""
    spec = plan.spec
    return fingerprint(
        recipe("storyboard"), identity, plan.width, plan.height, plan.fps, spec.seed, spec.style.model_dump(),
        [(b.name, b.prompt, b.camera, b.start_frame, b.frames) for b in plan.beats], len(plan.beats),
        [spec.subtitle_mode == "burn" and bool(b.say) for b in plan.beats],
        *([[reference_identity(plan, b) for b in plan.beats], reference_backend] if plan.references else []),
    )  # fmt: skip


def image_fingerprint(plan: Plan, beat: PlannedBeat, identity: str, reference_backend: str = "") -> str:
    """What one storyboard image depends on: the request its backend is given (its references by name,
    bytes and words, not where they are)."""
    refs = [reference_identity(plan, beat), reference_backend] if beat.uses and plan.references else []
    return fingerprint(recipe("storyboard-image"), identity, asdict(image_request(plan, beat)), *refs)


def storyboard(plan: Plan, backend: Backend, store: ArtifactStore, scratch: Path) -> Artifacts:
    """One storyboard image per beat, in beat order. An image whose request is unchanged since the
    stored storyboard was made is kept as it is: an edit of one beat makes only that beat's image."""
    identity = backend_identity(backend)
    reference_backend = backend.reference_identity
    fp = storyboard_fingerprint(plan, identity, reference_backend)
    manifest = layout.MANIFESTS["storyboard"]
    cached = _cached(store, plan.video_id, manifest, fp, scratch)
    if cached is not None:
        return cached
    before = read_manifest(store, plan.video_id, manifest) or {}
    previous = before.get("image_fingerprints")
    kept: dict[str, Any] = previous if isinstance(previous, dict) else {}
    files: dict[str, Path] = {}
    reused: set[str] = set()
    images: dict[str, dict[str, Any]] = {}

    def make(beat: PlannedBeat) -> dict[str, Any]:
        relative = layout.storyboard_image(beat.index)
        image_fp = image_fingerprint(plan, beat, identity, reference_backend)
        old = kept.get(relative)
        key = layout.video_key(plan.video_id, relative)
        if isinstance(old, dict) and old.get("fingerprint") == image_fp and store.exists(key):
            files[relative] = store.local_path(key)
            reused.add(relative)
            images[relative] = {"fingerprint": image_fp, "sha256": str(old["sha256"])}
            generation = dict(old.get("generation") or {})
            return {**generation, "cost_usd": 0.0, "cache_hit": True, "kept": True, "beat": beat.index}
        out = scratch / Path(relative).name
        request = image_request(plan, beat, beat_references(plan, beat, store))
        record = _generation_record(backend.image(request, out), beat=beat.index)
        if request.references:
            record["references"] = {r.name: r.sha256 for r in request.references}
        files[relative] = out
        images[relative] = {"fingerprint": image_fp, "sha256": digest_bytes(out.read_bytes())}
        return record

    # A model backend may make a few images at once (`max_concurrency`); order is kept either way.
    workers = max(1, min(backend.max_concurrency, len(plan.beats)))
    if workers == 1:
        generations = [make(beat) for beat in plan.beats]
    else:
        with ContextPool(workers) as pool:
            generations = list(pool.map(make, plan.beats))
    files = dict(sorted(files.items()))
    for beat, generation in zip(plan.beats, generations, strict=True):
        images[layout.storyboard_image(beat.index)]["generation"] = {k: v for k, v in generation.items() if k != "kept"}
    record = {
        "fingerprint": fp,
        "backend": backend.name,
        "images": len(files),
        "image_fingerprints": dict(sorted(images.items())),
        "kept": sorted(reused),
        "beats": len(plan.beats),
        "cost_usd": _cost(generations),
        "generations": generations,
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, files, record, scratch, stored=frozenset(reused))


def storyboard_contact_sheet(plan: Plan, images: Sequence[Path], store: ArtifactStore) -> bytes:
    """The storyboard contact sheet as PNG bytes: the references, then each beat captioned with its uses."""
    beats = []
    for beat, path in zip(plan.beats, images, strict=True):
        with Image.open(path) as image:
            caption = f"{beat.index + 1:02d} {beat.name}" + (f" · uses {', '.join(beat.uses)}" if beat.uses else "")
            beats.append((image.copy(), caption))
    refs = []
    for ref, path in beat_reference_paths(plan, [r.name for r in plan.references], store):
        with Image.open(path) as image:
            used = [f"{b.index + 1:02d}" for b in plan.beats if ref.name in b.uses]
            refs.append((image.copy(), f"{ref.name} (beats {', '.join(used) or 'none'})"))
    buffer = io.BytesIO()
    preview.storyboard_sheet(beats, refs).save(buffer, format="PNG")
    return buffer.getvalue()
