"""The pipeline's stages as plain functions: plan in, artifacts out.

Each stage computes a fingerprint of everything it depends on; when the store already holds an output
with that fingerprint, the stage returns it unchanged (`cached: true` in its record) instead of making
it again. That is how a re-run continues from what a failed run finished, and why nothing is paid twice.
The Dagster assets in `defs/` call these and attach metadata; the stages know nothing of Dagster. The
two stitch paths live in `stitching/`. Every fingerprint starts with its stage's recipe version
(`recipes.py`), so a changed recipe re-makes that stage's outputs.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import as_completed
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from PIL import Image

from vidgen_assets import takes
from vidgen_assets.backends.base import Backend
from vidgen_assets.core.errors import exception_cause
from vidgen_assets.core.fingerprint import digest_bytes, fingerprint
from vidgen_assets.core.generation import (
    Frame,
    Generation,
    ImageRequest,
    MusicRequest,
    ReferenceImage,
    VideoRequest,
)  # fmt: skip
from vidgen_assets.core.plan import Plan, PlannedBeat, PlannedBridge, PlannedChunk, PlannedMusic
from vidgen_assets.core.takes import clip_moves, take_seed
from vidgen_assets.core.voice import cues
from vidgen_assets.editorial.assembly import assembly_files
from vidgen_assets.media import loudness, ops, preview, probe
from vidgen_assets.media.commands import Overlay
from vidgen_assets.music_file import music_key
from vidgen_assets.recipes import RECIPES, recipe
from vidgen_assets.references import beat_reference_paths
from vidgen_assets.settings import ContextPool, StitchMode
from vidgen_assets.stitching import (
    StageError,
    beat_texts,
    beat_texts_key,
    incoming_frames,
    music_fades,
    safe_margins,
    text_overlays,
)
from vidgen_assets.stitching import copy as stitch_copy
from vidgen_assets.stitching import reencode as stitch_reencode
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts, cached_artifacts, load_artifacts, read_manifest, save_artifacts
from vidgen_assets.storage.store import ArtifactStore

__all__ = ["RECIPES", "StageError", "beat_texts", "incoming_frames", "music_fades"]


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


def image_digests(storyboard_record: dict[str, Any]) -> dict[int, str]:
    """The sha256 of each storyboard image, by beat index, as the storyboard's record lists them."""
    images = storyboard_record.get("image_fingerprints")
    if not isinstance(images, dict):
        return {}
    out = {}
    for relative, entry in images.items():
        if isinstance(entry, dict) and "sha256" in entry:
            out[int(Path(relative).stem.removeprefix("beat_"))] = str(entry["sha256"])
    return out


def reference_identity(plan: Plan, beat: PlannedBeat) -> list[tuple[str, str, str | None]]:
    """What a beat's outputs depend on of its references: name, sha256 and words (not where they are)."""
    return [(r.name, r.sha256, r.describe) for name in beat.uses if (r := plan.reference(name)) is not None]


def beat_references(plan: Plan, beat: PlannedBeat, store: ArtifactStore) -> tuple[ReferenceImage, ...]:
    """The reference images a beat shows, as local files (an S3 store's are downloaded once)."""
    return tuple(
        ReferenceImage(name=ref.name, path=str(path), sha256=ref.sha256, describe=ref.describe)
        for ref, path in beat_reference_paths(plan, beat.uses if plan.references else (), store)
    )


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


def music_fingerprint(plan: Plan, identity: str) -> str:
    """What the music bed depends on (nothing but its absence with `music: false`)."""
    spec = plan.spec
    if spec.music is None:
        return fingerprint(recipe("music"), None)
    if plan.music_track is not None:  # the user's own track: its bytes, not a backend, make the bed
        return fingerprint(
            recipe("music"), "file", plan.music_track.sha256, spec.music.volume, plan.total_frames, plan.fps,
            music_fades(plan), "mix", loudness_target(plan),
        )  # fmt: skip
    return fingerprint(
        recipe("music"), identity, spec.music.model_dump(exclude={"file", "sync"}), spec.music_mood,
        plan.total_frames, plan.fps, spec.seed, music_fades(plan), "mix", loudness_target(plan),
    )  # fmt: skip


def loudness_target(plan: Plan) -> tuple[float, float]:
    """The spec's `audio`: (integrated loudness in LUFS, true-peak ceiling in dBTP) of the final mix."""
    return plan.spec.audio.loudness, plan.spec.audio.true_peak


def bridge_sources(
    plan: Plan, bridge: PlannedBridge, pairs: Mapping[str, Artifacts], storyboard_out: Artifacts
) -> tuple[Path, Path]:
    """A bridge's start frame (the exact last frame of the take the outgoing beat's last chunk uses) and
    end frame (the incoming beat's storyboard image)."""
    outgoing = plan.beats[bridge.from_beat]
    if outgoing.pair_key not in pairs:
        raise StageError(
            f"bridge {bridge.key} of {plan.video_id!r} needs chunk pair {outgoing.pair_key}'s last frame: "
            "materialize chunk_pairs first"
        )
    try:
        start = takes.chunk_file(pairs[outgoing.pair_key], outgoing.chunks[-1].index, last_frame=True)
    except KeyError:
        raise StageError(
            f"bridge {bridge.key} of {plan.video_id!r}: chunk pair {outgoing.pair_key} has no last frame: "
            "re-materialize chunk_pairs"
        ) from None
    return start, storyboard_out.path(layout.storyboard_image(bridge.to_beat))


def bridge_fingerprint(
    plan: Plan,
    bridge: PlannedBridge,
    identity: str,
    start_sha256: str,
    end_sha256: str,
    mode: StitchMode = "copy",
    policy: takes.TakePolicy = takes.NO_CHECKS,
) -> str:
    """Everything a bridge depends on: its two frames (by their bytes' sha256), its prompt and length, the
    model (`identity`), how it is checked and re-taken. Changing one beat changes only the bridges that
    touch it."""
    texts = beat_texts_key(plan, plan.beats[bridge.to_beat]) if mode == "copy" else None
    return fingerprint(
        recipe("bridge"), identity, plan.width, plan.height, plan.fps, plan.spec.seed, bridge.model_dump(),
        start_sha256, end_sha256, mode, texts, policy.key(),
    )  # fmt: skip


def bridge(
    plan: Plan,
    planned: PlannedBridge,
    start: Path,
    end: Path,
    backend: Backend,
    store: ArtifactStore,
    scratch: Path,
    mode: StitchMode = "copy",
    policy: takes.TakePolicy | None = None,
) -> Artifacts:
    """One bridge: a clip from `start` (the outgoing beat's last frame) to `end` (the incoming beat's
    storyboard image), exactly `planned.frames` long, checked (it must start on `start` and land on
    `end`) and re-taken as `policy` allows; with the copy path also its piece, text burnt in."""
    policy = policy if policy is not None else takes.policy_for(plan, Decimal(0), Decimal(0))
    identity = backend_identity(backend)
    start_sha256, end_sha256 = digest_bytes(start.read_bytes()), digest_bytes(end.read_bytes())
    fp = bridge_fingerprint(plan, planned, identity, start_sha256, end_sha256, mode, policy)
    manifest = layout.bridge_manifest(planned.key)
    cached = _cached(store, plan.video_id, manifest, fp, scratch)
    if cached is not None:
        return cached
    incoming = plan.beats[planned.to_beat]

    def request(attempt: int) -> VideoRequest:
        return VideoRequest(
            video_id=plan.video_id, chunk_index=incoming.chunks[0].index, beat_index=incoming.index, kind="bridge",
            prompt=planned.prompt, camera=incoming.camera, frames=planned.frames, motion_offset=0,
            frame=_frame(plan), seed=take_seed(plan.spec.seed + planned.from_beat, attempt), end_image=str(end),
        )  # fmt: skip

    def make(req: VideoRequest, out: Path) -> Generation:
        gen = backend.video(req, start, out)
        _checked_shape(backend, f"bridge {planned.key}", out, planned.frames, plan)
        return gen

    job = takes.ClipJob(
        clip=planned.key, kind="bridge", beat=planned.to_beat, identity=identity, source=start, request=request,
        make=make, files=lambda n: (layout.bridge_video(planned.key, n), None), fps=plan.fps,
        moves=True, expected_last=end, prompt=planned.prompt,
    )  # fmt: skip
    got = takes.take_clip(job, store, plan.video_id, scratch, policy)
    files = dict(got.files)
    if mode == "copy":
        files[layout.bridge_piece(planned.key)] = stitch_copy.bridge_piece(plan, planned, got.path, scratch)
    taken = _take_record(got)
    generation = {
        **(got.chosen.get("extra") or {}), "model": taken["model"], "seed": taken["seed"],
        "cost_usd": taken["cost_usd"], "cache_hit": taken["cache_hit"], "source_sha256": start_sha256,
        "end_sha256": end_sha256,
    }  # fmt: skip
    record = {
        **taken,
        "fingerprint": fp,
        "backend": backend.name,
        "bridge": planned.key,
        "from_beat": planned.from_beat,
        "to_beat": planned.to_beat,
        "start_frame": planned.start_frame,
        "frames": planned.frames,
        "stitch": mode,
        "generations": [generation],
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, files, record, scratch, frozenset(got.stored))


def bridges(
    plan: Plan,
    pairs: Mapping[str, Artifacts],
    storyboard_out: Artifacts,
    backend: Backend,
    store: ArtifactStore,
    scratch: Path,
    mode: StitchMode = "copy",
    policy: takes.TakePolicy | None = None,
) -> dict[str, Artifacts]:
    """Every bridge of the plan, each its own artifact (`bridges/b003.mp4` + json), saved as soon as it is
    made: a bridge whose two frames, prompt and model did not change is reused as it is, for free."""
    out: dict[str, Artifacts] = {}
    for planned in plan.bridges:
        start, end = bridge_sources(plan, planned, pairs, storyboard_out)
        made = bridge(plan, planned, start, end, backend, store, scratch / planned.key, mode, policy)
        if not made.record.get("cached"):
            save_artifacts(store, made)
            loaded = load_artifacts(store, plan.video_id, made.manifest)
            assert loaded is not None
            made = loaded
        out[planned.key] = made
    return out


def music(plan: Plan, backend: Backend, store: ArtifactStore, scratch: Path) -> Artifacts:
    """The music bed for the whole video, or an empty record when the spec has `music: false`."""
    spec = plan.spec
    manifest = layout.MANIFESTS["music"]
    fp = music_fingerprint(plan, backend_identity(backend))
    if spec.music is None:
        return Artifacts(plan.video_id, manifest, {}, {"fingerprint": fp, "music": None, "cost_usd": 0.0}, scratch)
    cached = _cached(store, plan.video_id, manifest, fp, scratch)
    if cached is not None:
        return cached
    relative = "music.wav"
    out = scratch / relative
    if plan.music_track is not None:
        return _music_from_file(plan, plan.music_track, store, scratch, fp)
    request = MusicRequest(
        video_id=plan.video_id,
        mood=spec.music_mood,
        bpm=spec.music.bpm,
        seconds=plan.total_frames / plan.fps,
        seed=spec.seed,
    )
    gen = backend.music(request, out)
    generation = _generation_record(gen)
    # The bed as the final video carries it (volume, fades, exact length, AAC), made here, alongside the
    # chunk pairs, so that the copy path's final step encodes nothing.
    mix = "music.m4a"
    _, finished = ops.music_mix(
        out, scratch / mix, spec.music.volume, plan.total_frames, plan.fps, *music_fades(plan), loudness_target(plan)
    )
    record = {
        "fingerprint": fp,
        "music": relative,
        "mix": mix,
        "mood": spec.music_mood,
        "bpm": spec.music.bpm,
        "volume": spec.music.volume,
        "seconds": request.seconds,
        "loudness": finished.as_record(*loudness_target(plan)),
        "cost_usd": generation["cost_usd"],
        "generations": [generation],
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, {relative: out, mix: scratch / mix}, record, scratch)


def _music_from_file(plan: Plan, track: PlannedMusic, store: ArtifactStore, scratch: Path, fp: str) -> Artifacts:
    """The bed from the user's own track (stored at registration): decoded to 48 kHz stereo as `music.wav`,
    then mixed like a generated bed (volume, fades, cut or padded to the video's length, its loudness)."""
    spec = plan.spec
    assert spec.music is not None
    source = store.local_path(music_key(plan.video_id, track.file))
    out = scratch / "music.wav"
    ops.decode_music(source, out)
    mix = "music.m4a"
    _, finished = ops.music_mix(
        out, scratch / mix, spec.music.volume, plan.total_frames, plan.fps, *music_fades(plan), loudness_target(plan)
    )
    record = {
        "fingerprint": fp,
        "music": "music.wav",
        "mix": mix,
        "file": spec.music.file,
        "sha256": track.sha256,
        "track_seconds": track.seconds,
        "volume": spec.music.volume,
        "seconds": plan.total_frames / plan.fps,
        "loudness": finished.as_record(*loudness_target(plan)),
        "cost_usd": 0.0,
        "generations": [{"model": "user file", "cost_usd": 0.0, "file": spec.music.file}],
        "cached": False,
    }
    return Artifacts(plan.video_id, layout.MANIFESTS["music"], {"music.wav": out, mix: scratch / mix}, record, scratch)


def check_pairs(plan: Plan, pairs: Mapping[str, Artifacts]) -> None:
    """Every pair of the plan is present and was made for this plan's chunk layout."""
    missing = [key for key in plan.pair_keys if key not in pairs]
    if missing:
        raise StageError(
            f"video {plan.video_id!r} is missing chunk pair(s) {', '.join(missing)}: materialize them first "
            f"(e.g. chunk_pair partition '{missing[0]}|{plan.video_id}')"
        )
    for beat in plan.beats:
        record = pairs[beat.pair_key].record
        made = [(c["index"], c["frames"]) for c in record.get("chunks", [])]
        wanted = [(c.index, c.frames) for c in beat.chunks]
        if made != wanted:
            raise StageError(
                f"chunk pair {beat.pair_key} of {plan.video_id!r} was made for another plan "
                f"(chunks {made}, the plan has {wanted}): re-materialize it"
            )


def stitched_fingerprint(
    plan: Plan,
    pair_fingerprints: Sequence[str | None],
    mode: StitchMode = "copy",
    bridge_fingerprints: Sequence[str | None] = (),
) -> str:
    """What the stitched video depends on: its pairs (in plan order), the joins, its bridges (in plan
    order) and, on the copy path, the texts the transitions carry."""
    return fingerprint(
        recipe("stitched"),
        list(pair_fingerprints),
        [j.model_dump() for j in plan.joins],
        plan.fps,
        mode,
        [beat_texts_key(plan, b) for b in plan.beats] if mode == "copy" else None,
        list(bridge_fingerprints),
    )


def stitched_video(
    plan: Plan,
    pairs: Mapping[str, Artifacts],
    store: ArtifactStore,
    scratch: Path,
    mode: StitchMode = "copy",
    bridges: Mapping[str, Artifacts] | None = None,
) -> Artifacts:
    """All chunks joined: seamless inside a pair, the planned transition at each beat boundary.

    `reencode`: one xfade graph over every chunk, re-encoded. `copy`: only the transitions are rendered
    (a few frames each, from the neighbouring chunks' edges, the incoming beat's text on top); they are
    joined with the pairs' pieces by the concat demuxer with stream copy. The text is then already in.
    A bridge is placed, whole, at the start of the beat it leads into (a cut on each side of it)."""
    check_pairs(plan, pairs)
    bridges = bridges or {}
    missing = [b.key for b in plan.bridges if b.key not in bridges]
    if missing:
        raise StageError(f"video {plan.video_id!r} is missing bridge(s) {', '.join(missing)}: make them first")
    fp = stitched_fingerprint(
        plan, [pairs[k].fingerprint for k in plan.pair_keys], mode, [bridges[b.key].fingerprint for b in plan.bridges]
    )
    manifest = layout.MANIFESTS["stitched_video"]
    cached = _cached(store, plan.video_id, manifest, fp, scratch)
    if cached is not None:
        return cached
    out = scratch / "stitched.mp4"
    if mode == "copy":
        stitch_copy.stitch(plan, pairs, scratch, out, bridges)
    else:
        stitch_reencode.stitch(plan, pairs, out, bridges)
    info = probe.probe(out)
    record = {
        "fingerprint": fp,
        "stitch": mode,
        "chunks": len(plan.chunks),
        "pairs": list(plan.pair_keys),
        "frames": info.frames,
        "duration_s": info.duration_s,
        "joins": [j.model_dump() for j in plan.joins],
        "cost_usd": _cost([pairs[k].record for k in plan.pair_keys]),
        "bridges": list(bridges),
        "bridges_cost_usd": _cost([bridges[b.key].record for b in plan.bridges]),
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, {"stitched.mp4": out}, record, scratch)


def final_fingerprint(
    plan: Plan,
    stitched_fp: str | None,
    music_fp: str | None,
    mode: StitchMode = "copy",
    voice_fp: str | None = None,
    soundtrack_fp: str | None = None,
) -> str:
    """What the final video depends on: the stitched video, the music, the texts (and their safe area),
    the frame and, when a beat has `say`, the voice, the soundtrack and the subtitles (mode, words, style,
    safe area) (pure: from the plan and upstream fingerprints)."""
    spec = plan.spec
    voiced = (soundtrack_fp, voice_fp, spec.subtitle_mode, spec.subtitles.model_dump()) if plan.voice_lines else None
    area = spec.subtitles.safe_area
    return fingerprint(
        recipe("final"), stitched_fp, music_fp, [o.model_dump() for o in plan.overlays],
        spec.music.volume if spec.music else None, plan.width, plan.height, plan.fps, plan.total_frames, mode,
        *([voiced] if voiced else []), *([area] if area != "none" else []),
    )  # fmt: skip


def final_video(
    plan: Plan,
    stitched: Artifacts,
    music_out: Artifacts,
    storyboard_out: Artifacts,
    store: ArtifactStore,
    scratch: Path,
    mode: StitchMode = "copy",
    voice_out: Artifacts | None = None,
    soundtrack_out: Artifacts | None = None,
) -> Artifacts:
    """The deliverable: text burned in, music mixed with fades, H.264 + AAC, yuv420p, +faststart.

    With the `copy` stitch mode the text is already in the stitched video: its stream is copied as it is
    and only the music is encoded. With voiceover lines the audio is the soundtrack (music ducked under
    the voice), and the subtitles are a `mov_text` track (`soft`) or drawn into the picture (`burn`,
    which re-encodes the picture once), with `final.srt` and `final.vtt` beside the video."""
    spec = plan.spec
    overlays = plan.overlays
    said = bool(plan.voice_lines and voice_out is not None and soundtrack_out is not None)
    fp = final_fingerprint(
        plan, stitched.fingerprint, music_out.fingerprint, mode,
        voice_out.fingerprint if voice_out is not None else None,
        soundtrack_out.fingerprint if soundtrack_out is not None else None,
    )  # fmt: skip
    manifest = layout.MANIFESTS["final_video"]
    cost = {
        "storyboard": float(storyboard_out.record.get("cost_usd", 0.0)),
        "chunks": float(stitched.record.get("cost_usd", 0.0)),
        **({"bridges": float(stitched.record.get("bridges_cost_usd", 0.0))} if plan.bridges else {}),
        "music": float(music_out.record.get("cost_usd", 0.0)),
    }
    if said and voice_out is not None:
        cost["voice"] = float(voice_out.record.get("cost_usd", 0.0))
    cached = _cached(store, plan.video_id, manifest, fp, scratch)
    if cached is not None:
        return cached
    out = scratch / "final.mp4"
    files: dict[str, Path] = {"final.mp4": out}
    cue_times: list[list[float]] = []
    word_timing: list[str] = []
    if said and voice_out is not None and soundtrack_out is not None:
        cue_times, word_timing = _voiced_final(
            plan, stitched, music_out, voice_out, soundtrack_out, scratch, mode, out, files
        )
    elif mode == "copy":
        stitch_copy.finish(plan, stitched, music_out, out)
    else:
        stitch_reencode.finish(plan, stitched, music_out, scratch, out)
    voice_record = voice_out.record if voice_out is not None else None
    files.update(assembly_files(plan, store, scratch, voice_record, music_out.record))  # final.otio, for editors
    info = probe.probe(out)
    delivered = loudness.measure(out).as_record() if info.has_audio else None
    safe = safe_area_boxes(plan, scratch, cue_times) if said or overlays else None
    record = {
        "fingerprint": fp,
        "loudness": delivered,
        "loudness_target": dict(zip(("integrated_lufs", "true_peak_dbtp"), loudness_target(plan), strict=True)),
        "frames": info.frames,
        "duration_s": info.duration_s,
        "width": info.width,
        "height": info.height,
        "fps": float(info.fps),
        "audio": info.has_audio,
        "bytes": out.stat().st_size,
        "overlays": len(overlays),
        "stitch": mode,
        "subtitles": spec.subtitle_mode if said else "off",
        "cues": cue_times,
        "word_timing": word_timing,
        "safe_area": safe,
        "cost_usd": round(math.fsum(cost.values()), 6),
        "cost_by_stage": cost,
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, files, record, scratch)


def safe_area_boxes(plan: Plan, scratch: Path, cue_times: Sequence[Sequence[float]]) -> dict[str, Any] | None:
    """With `subtitles.safe_area`, where each on-screen text and each burnt caption is drawn, against the
    area's inner rectangle (pixels; x1, y1 exclusive): each text's PNG as burnt in (its opaque box), each
    caption as libass draws `final.ass` at the caption's middle (`captions.drawn_box`). None without a
    safe area."""
    from vidgen_assets.media import captions

    spec = plan.spec
    if spec.subtitles.safe_area == "none":
        return None
    margins = safe_margins(plan)
    w, h = plan.width, plan.height
    inner = (math.ceil(margins.left * w), math.ceil(margins.top * h), math.floor((1 - margins.right) * w),
             math.floor((1 - margins.bottom) * h))  # fmt: skip
    boxes: list[dict[str, Any]] = []
    for overlay, png in zip(plan.overlays, text_overlays(plan, scratch), strict=True):
        with Image.open(png.png) as image:
            box = image.getchannel("A").getbbox()
        boxes.append({"what": f"{overlay.style}: {overlay.text}", "box": list(box) if box else None})
    ass = scratch / "final.ass"
    if spec.subtitle_mode == "burn" and plan.voice_lines and ass.exists():
        for start, end in cue_times:
            box = captions.drawn_box(ass, w, h, plan.fps, round((start + end) / 2 * plan.fps))
            boxes.append({"what": f"caption at {start:.2f} s", "box": list(box) if box else None})
    for entry in boxes:
        b = entry["box"]
        entry["inside"] = b is None or (b[0] >= inner[0] and b[1] >= inner[1] and b[2] <= inner[2] and b[3] <= inner[3])
    return {"area": spec.subtitles.safe_area, "inner": list(inner), "boxes": boxes}


def _voiced_final(
    plan: Plan,
    stitched: Artifacts,
    music_out: Artifacts,
    voice_out: Artifacts,
    soundtrack_out: Artifacts,
    scratch: Path,
    mode: StitchMode,
    out: Path,
    files: dict[str, Path],
) -> tuple[list[list[float]], list[str]]:
    """The final video of a spec with `say` lines: picture (captions burnt in for `burn`, by libass from
    `final.ass`), soundtrack (or the music mix with `voice: false`) and, for `soft`, the subtitle track;
    the sidecar files (`final.srt`, `final.vtt`, `final.ass`) into `files`. Returns the cue times and how
    each cue's words were timed (`engine` or `spread`)."""
    from vidgen_assets.media import captions, subtitles

    spec = plan.spec
    mode_sub = spec.subtitle_mode
    found = cues(plan, voice_out.record.get("lines", []))
    srt_path = ass_path = None
    timings: list[str] = []
    if mode_sub != "off":
        srt_path = subtitles.write_text(subtitles.srt_text(found), scratch / "final.srt")
        files["final.srt"] = srt_path
        files["final.vtt"] = subtitles.write_text(subtitles.vtt_text(found), scratch / "final.vtt")
        lines = {line.key: line for line in plan.voice_lines}
        shown = []
        for c, summary in zip(found, voice_out.record.get("lines", []), strict=True):
            beat = plan.beats[lines[str(summary["key"])].beat_index]
            styles = {style for _, style in beat_texts(plan, beat)}
            words = summary.get("words")
            engine = tuple((str(w), float(t)) for w, t in words) if words else None
            shown.append(captions.Caption(c.text, c.start_s, c.end_s, engine, "caption" in styles, "cta" in styles))
        ass_path = scratch / "final.ass"
        timings = list(captions.write(shown, spec.subtitles, plan.width, plan.height, ass_path))
        files["final.ass"] = ass_path
    pngs: list[Overlay] = text_overlays(plan, scratch) if mode != "copy" else []
    burn = ass_path if mode_sub == "burn" else None
    picture = stitched.path("stitched.mp4")
    if pngs or burn is not None:
        picture = scratch / "picture.mp4"
        ops.finalise(stitched.path("stitched.mp4"), picture, pngs, None, plan.total_frames, plan.fps, burn)
    track = soundtrack_out.record.get("soundtrack")
    mix = music_out.record.get("mix")
    audio = soundtrack_out.path(str(track)) if track else (music_out.path(str(mix)) if mix else None)
    ops.mux_final(picture, audio, srt_path if mode_sub == "soft" else None, out, plan.total_frames)
    return [[c.start_s, c.end_s] for c in found], timings
