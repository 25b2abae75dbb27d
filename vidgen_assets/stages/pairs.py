"""The chunk pair stage: a beat's chunks in strict order, each checked and re-taken, and all the pairs of a
plan made at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import as_completed
from decimal import Decimal
from pathlib import Path
from typing import Any

from vidgen_assets import takes
from vidgen_assets.backends.base import Backend
from vidgen_assets.core.errors import exception_cause
from vidgen_assets.core.fingerprint import digest_bytes, fingerprint
from vidgen_assets.core.generation import Generation, VideoRequest
from vidgen_assets.core.plan import Plan, PlannedBeat, PlannedChunk
from vidgen_assets.core.takes import clip_moves, take_seed
from vidgen_assets.recipes import recipe
from vidgen_assets.settings import ContextPool, StitchMode
from vidgen_assets.stages.common import (
    _cached,
    _checked_shape,
    _cost,
    _frame,
    _take_record,
    backend_identity,
    beat_references,
    reference_identity,
)
from vidgen_assets.stitching import StageError, beat_texts_key, incoming_frames
from vidgen_assets.stitching import copy as stitch_copy
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts
from vidgen_assets.storage.store import ArtifactStore


def pair_fingerprint(
    plan: Plan,
    beat: PlannedBeat,
    identity: str,
    image_sha256: str,
    mode: StitchMode = "copy",
    policy: takes.TakePolicy = takes.NO_CHECKS,
) -> str:
    """What a chunk pair depends on: its beat (not its voiceover line), the backend, the frame, the seed,
    its storyboard image's bytes (`image_sha256`), how its clips are checked and re-taken (`policy`) and,
    on the copy path, what its piece and edges carry. A beat's `take` is part of its beat: pinning one
    re-assembles the pair from stored takes."""
    piece = (mode, "edges", incoming_frames(plan, beat), beat_texts_key(plan, beat)) if mode == "copy" else None
    # The voiceover line is not part of the picture: editing it re-makes the voice, never the chunks.
    pictured = beat.model_copy(update={"say": None})
    return fingerprint(
        recipe("chunk_pair"), identity, plan.width, plan.height, plan.fps, plan.spec.seed,
        pictured.model_dump(), image_sha256, piece, policy.key(),
        *([reference_identity(plan, beat)] if beat.uses and plan.references else []),
    )  # fmt: skip


def chunk_pair(
    plan: Plan,
    beat: PlannedBeat,
    storyboard_image: Path,
    backend: Backend,
    store: ArtifactStore,
    scratch: Path,
    mode: StitchMode = "copy",
    remake: bool = False,
    policy: takes.TakePolicy | None = None,
) -> Artifacts:
    """A beat's chunks in strict order: the reference-image chunk from the storyboard image, then each
    continuous chunk from the exact last frame of the chunk before it. `remake`: make it even though a
    current output is stored.

    Each chunk is checked as it is made and, while it fails a blocking check, taken again with a new seed
    as `policy` allows (`takes.take_clip`); the next chunk continues from the take used. Every take is
    kept; a chunk asked for exactly as before reuses its stored take. With the beat's `take` pinned, the
    chunks are that take, as stored, and no model is called.

    With the `copy` stitch mode the pair also makes its piece of the final video, here where pairs run in
    parallel: the beat's frames outside any transition, its text burnt in, encoded once at final quality."""
    policy = policy if policy is not None else takes.policy_for(plan, Decimal(0), Decimal(0))
    identity = backend_identity(backend)
    fp = pair_fingerprint(plan, beat, identity, digest_bytes(storyboard_image.read_bytes()), mode, policy)
    manifest = layout.pair_manifest(beat.pair_key)
    cached = None if remake else _cached(store, plan.video_id, manifest, fp, scratch)
    if cached is not None:
        return cached
    files: dict[str, Path] = {}
    stored: set[str] = set()
    chunks = []
    warnings: list[str] = []
    source = storyboard_image
    previous: str | None = None
    references = beat_references(plan, beat, store)
    moves = clip_moves(backend.name, beat.camera)
    for chunk in beat.chunks:

        def request(attempt: int, chunk: PlannedChunk = chunk) -> VideoRequest:
            return VideoRequest(
                video_id=plan.video_id, chunk_index=chunk.index, beat_index=beat.index, kind=chunk.kind,
                prompt=beat.prompt, camera=beat.camera, frames=chunk.frames, motion_offset=chunk.motion_offset,
                frame=_frame(plan), seed=take_seed(plan.spec.seed + chunk.index, attempt),
                clip_frames=beat.clip_frames, storyboard_image=storyboard_image, reference_images=references,
            )  # fmt: skip

        def make(req: VideoRequest, out: Path, chunk: PlannedChunk = chunk, source: Path = source) -> Generation:
            gen = backend.video(req, source, out)
            _checked_shape(backend, f"chunk {chunk.index}", out, chunk.frames, plan)
            return gen

        def named(take: int, chunk: PlannedChunk = chunk) -> tuple[str, str | None]:
            return layout.chunk_video(chunk.index, take), layout.chunk_last_frame(chunk.index, take)

        job = takes.ClipJob(
            clip=takes.chunk_clip_name(chunk.index), kind=chunk.kind, beat=beat.index, identity=identity,
            source=source, request=request, make=make, files=named,
            fps=plan.fps, moves=moves, references=tuple(Path(r.path) for r in references), prompt=beat.prompt,
        )  # fmt: skip
        try:
            got = takes.take_clip(
                job, store, plan.video_id, scratch, policy, beat.take,
                previous if chunk.kind == "continuous" else None, fresh=remake,
            )  # fmt: skip
        except takes.TakeNotFound as exc:
            raise StageError(f"beats[{beat.index}].take: {exc}") from None
        files.update(got.files)
        stored |= got.stored
        warnings += got.warnings
        chunks.append(
            {**_take_record(got), "index": chunk.index, "kind": chunk.kind, "frames": chunk.frames,
             "source": source.name, "source_sha256": digest_bytes(source.read_bytes())}
        )  # fmt: skip
        last = got.last_frame
        assert last is not None  # a chunk's take always has its last frame
        source = last
        previous = digest_bytes(last.read_bytes())
    pieces: dict[str, Any] | None = None
    if mode == "copy":
        clips = [files[str(c["file"])] for c in chunks]
        pieces = stitch_copy.pair_pieces(plan, beat, clips, scratch, files)
    record = {
        "fingerprint": fp,
        "backend": backend.name,
        "stitch": mode,
        "piece": pieces,
        "pair": beat.pair_key,
        "beat": beat.index,
        "beat_name": beat.name,
        "chunks": chunks,
        "frames": sum(c.frames for c in beat.chunks),
        "cost_usd": _cost(chunks),
        "retakes": sum(int(c["retakes"]) for c in chunks),
        "qc_warnings": warnings,
        "pinned_take": beat.take,
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, files, record, scratch, frozenset(stored))


PairResults = tuple[dict[str, tuple[Artifacts, float]], dict[str, BaseException]]
"""What `run_pairs` ends with: pair key -> (its output, seconds), and pair key -> why it failed."""


def run_pairs(
    plan: Plan, make: Callable[[PlannedBeat], Artifacts], workers: int, say: Callable[[str], None] | None = None
) -> PairResults:
    """Make every pair of the plan with `make`, `workers` at once (threads: a pair's work is ffmpeg and
    model calls, in other processes or waiting on the network). The longest pairs start first (most
    chunks, then most frames: a chunk is made only after the one before it), so that the last to finish
    is a short one rather than a long chain begun last. Every pair runs to its end whatever the others
    do; a failure is returned, not raised, so that each finished pair is kept."""
    made: dict[str, tuple[Artifacts, float]] = {}
    failed: dict[str, BaseException] = {}

    def timed(beat: PlannedBeat) -> tuple[Artifacts, float]:
        start = time.perf_counter()
        return make(beat), time.perf_counter() - start

    with ContextPool(max(1, workers), thread_name_prefix="vidgen-pair") as pool:
        longest_first = sorted(plan.beats, key=lambda b: (-len(b.chunks), -sum(c.frames for c in b.chunks), b.index))
        futures = {pool.submit(timed, beat): beat for beat in longest_first}
        for done, future in enumerate(as_completed(futures), start=1):
            key = futures[future].pair_key
            try:
                made[key] = future.result()
            except Exception as exc:
                failed[key] = exc
                if say is not None:
                    say(f"pair {done}/{len(futures)} FAILED: {key}: {exception_cause(exc).splitlines()[0]}")
                continue
            if say is not None:
                state = "reused" if made[key][0].record.get("cached") else "made"
                say(f"pair {done}/{len(futures)} done: {key} ({state}, {made[key][1]:.1f} s)")
    return made, failed
