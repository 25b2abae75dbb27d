"""The helpers every stage shares: how outputs are fingerprinted by their backend, found cached, costed and
recorded, and what they use of a beat's references and of a clip's takes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vidgen_assets import takes
from vidgen_assets.backends.base import Backend
from vidgen_assets.core.generation import Frame, Generation, ReferenceImage
from vidgen_assets.core.plan import Plan, PlannedBeat
from vidgen_assets.media import probe
from vidgen_assets.references import beat_reference_paths
from vidgen_assets.stitching import StageError
from vidgen_assets.storage.artifacts import Artifacts, cached_artifacts
from vidgen_assets.storage.store import ArtifactStore


def backend_identity(backend: Backend) -> str:
    """What outputs are fingerprinted by: the backend and, for a model backend, its models."""
    return backend.identity


def _frame(plan: Plan) -> Frame:
    return Frame(width=plan.width, height=plan.height, fps=plan.fps)


def _generation_record(gen: Generation, **extra: Any) -> dict[str, Any]:
    return {
        "model": gen.model,
        "seed": gen.seed,
        "cost_usd": gen.cost_usd,
        "cache_hit": gen.cache_hit,
        **gen.extra,
        **extra,
    }


def _cost(records: list[dict[str, Any]]) -> float:
    return round(sum(float(r["cost_usd"]) for r in records), 6)


def _cached(store: ArtifactStore, video_id: str, manifest: str, fp: str, scratch: Path) -> Artifacts | None:
    """The stored output made from exactly these inputs (`fp`), marked `cached`, or None. Its unused
    scratch directory goes once the output is stored (no empty `scratch/tmp*` is left behind)."""
    found = cached_artifacts(store, video_id, manifest, fp)
    if found is not None:
        found.record["cached"] = True
        found.scratch = scratch
    return found


def reference_identity(plan: Plan, beat: PlannedBeat) -> list[tuple[str, str, str | None]]:
    """What a beat's outputs depend on of its references: name, sha256 and words (not where they are)."""
    return [(r.name, r.sha256, r.describe) for name in beat.uses if (r := plan.reference(name)) is not None]


def beat_references(plan: Plan, beat: PlannedBeat, store: ArtifactStore) -> tuple[ReferenceImage, ...]:
    """The reference images a beat shows, as local files (an S3 store's are downloaded once)."""
    return tuple(
        ReferenceImage(name=ref.name, path=str(path), sha256=ref.sha256, describe=ref.describe)
        for ref, path in beat_reference_paths(plan, beat.uses if plan.references else (), store)
    )


def loudness_target(plan: Plan) -> tuple[float, float]:
    """The spec's `audio`: (integrated loudness in LUFS, true-peak ceiling in dBTP) of the final mix."""
    return plan.spec.audio.loudness, plan.spec.audio.true_peak


def _checked_shape(backend: Backend, what: str, out: Path, frames: int, plan: Plan) -> None:
    info = probe.probe(out)
    if (info.frames, info.width, info.height) != (frames, plan.width, plan.height) or info.fps != plan.fps:
        raise StageError(
            f"backend {backend.name!r} made {what} as {info.width}x{info.height} {float(info.fps):g} fps with "
            f"{info.frames} frames; the plan needs {plan.width}x{plan.height} {plan.fps} fps with {frames} frames"
        )


def _is_retake(record: Mapping[str, Any]) -> bool:
    return bool(record.get("retake", int(record["attempt"]) > 0))


def _take_record(got: takes.ClipTakes) -> dict[str, Any]:
    """What a pair's or bridge's record says of one clip: the take used (its file, checks, verdict, model
    and seed), every take the clip has, those made now, and what this render paid for them."""
    chosen = got.chosen
    made_now = int(chosen["take"]) in got.made
    extra = dict(chosen.get("extra") or {})
    if not made_now and "cache" in extra:
        extra["cache"] = "hit"  # answered from a stored take: nothing asked, nothing paid
    return {
        **extra,
        "clip": chosen["clip"],
        "take": chosen["take"],
        "file": chosen["file"],
        "last_frame": chosen.get("last_frame"),
        "takes": [r["take"] for r in got.records],
        "made_takes": got.made,
        "retakes": got.retakes_made,
        "retake_cost_usd": round(
            sum(float(r["cost_usd"]) for r in got.records if r["take"] in got.made and _is_retake(r)), 6
        ),
        "model": chosen.get("model"),
        "seed": chosen.get("seed"),
        "cost_usd": float(got.paid_usd),
        "cache_hit": not made_now or bool(chosen.get("cache_hit")),
        "checks": chosen.get("checks", []),
        "passed": chosen.get("passed", True),
        "failed": chosen.get("failed", []),
        "warnings": chosen.get("warnings", []),
        "score": chosen.get("score"),
        "reason": chosen.get("reason"),
        "qc_warnings": got.warnings,
    }
