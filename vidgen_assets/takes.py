"""Takes of generated clips: each clip measured as it is made, made again while it fails, every take
kept, the best one used (Version 3, `qc:`; the decisions are in `core.takes` and `core.qc`).

A clip's takes are listed in its takes file (`chunks/chunk_003.takes.json`, `bridges/b003.takes.json`):
one record per take, in the order made, across renders. A take is found again by its request (what the
backend was asked: prompt, seed, frames, start picture by its bytes, ...): asking for it twice makes no
new take and no call. A beat's `take: N` picks take N of its clips from that file and makes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from vidgen_assets.core import takes as decide
from vidgen_assets.core.fingerprint import digest_bytes, fingerprint
from vidgen_assets.core.generation import Generation, VideoRequest
from vidgen_assets.core.plan import Plan
from vidgen_assets.core.qc import ClipKind
from vidgen_assets.core.takes import JudgeScore
from vidgen_assets.media import probe
from vidgen_assets.media import qc as measure
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts, read_manifest
from vidgen_assets.storage.store import ArtifactStore

REQUEST_VERSION = "take-request@1"
"""The leading part of a take's request key: bumped only if what identifies a request changes (never with
a stage's recipe: a take stays the same take when the way its pair is cut or checked changes)."""


class TakeNotFound(ValueError):
    """A pinned take (`beats[i].take`) that the video does not have."""


Judge = Callable[[Path, str, Sequence[Path]], JudgeScore]
"""A judge: (clip, the prompt it was made for, its reference images) -> its score (`backends.judge`)."""


@dataclass(frozen=True)
class TakePolicy:
    """How a render takes its clips: whether clips are checked, how many extra takes a failing clip may
    get, the money left for them, and the judge (with the score a take must reach)."""

    check: bool = True
    retakes: int = 0
    allowance: decide.RetakeAllowance = field(default_factory=lambda: decide.RetakeAllowance(None))
    retake_usd: Decimal = Decimal(0)
    """What one retake is set aside at (the dearest clip of the estimate: a model's price per clip)."""
    judged: bool = False
    """The spec asks for the judge (`qc.judge: replicate`)."""
    min_score: float | None = None
    judge: Judge | None = None
    """The judge itself, bound to the backend that asks it (`with_judge`)."""

    def key(self) -> list[Any]:
        """What of the policy a clip's outcome depends on (part of the pair and bridge fingerprints)."""
        return [self.check, self.retakes, self.judged, self.min_score]

    def with_judge(self, judge: Judge | None) -> TakePolicy:
        """This policy asking `judge` (the same allowance: what retakes may spend stays shared)."""
        return replace(self, judge=judge) if self.judged else self


NO_CHECKS = TakePolicy(check=False)


def policy_for(plan: Plan, estimate_usd: Decimal, retake_usd: Decimal) -> TakePolicy:
    """The policy of a render of `plan` whose estimate (without retakes) is `estimate_usd`: the spec's
    `qc`, and what `budget_usd` leaves for retakes. `qc: false` checks nothing and re-takes nothing. With
    `qc.judge: replicate` the judge is bound with `with_judge` where the backend is."""
    qc = plan.spec.qc
    if qc is None:
        return NO_CHECKS
    retakes = decide.spec_retakes(plan.spec)
    budget = plan.spec.budget_usd
    left = None if budget is None else max(Decimal(0), Decimal(str(budget)) - estimate_usd)
    uses_judge = qc.judge == "replicate"
    return TakePolicy(
        check=True, retakes=retakes, allowance=decide.RetakeAllowance(left), retake_usd=retake_usd,
        judged=uses_judge, min_score=qc.min_score if uses_judge else None,
    )  # fmt: skip


def index_key(video_id: str, clip: str) -> str:
    return layout.video_key(video_id, layout.takes_index(clip))


def stored_takes(store: ArtifactStore, video_id: str, clip: str) -> list[dict[str, Any]]:
    """Every take of `clip` the video has, in the order made (empty when none)."""
    key = index_key(video_id, clip)
    if not store.exists(key):
        return []
    data = json.loads(store.get_bytes(key))
    return list(data.get("takes", [])) if isinstance(data, dict) else []


def _file_sha(path: str | Path | None) -> str | None:
    return digest_bytes(Path(path).read_bytes()) if path else None


def request_key(identity: str, request: VideoRequest, source_sha256: str) -> str:
    """What identifies a take: the backend (`identity`) and the request it was given, its pictures by
    their bytes (never where they are), not the video it is for."""
    fields = asdict(request)
    fields.pop("video_id")
    fields["storyboard_image"] = _file_sha(request.storyboard_image)
    fields["end_image"] = _file_sha(request.end_image)
    fields["reference_images"] = [(r.name, r.sha256, r.describe) for r in request.reference_images]
    return fingerprint(REQUEST_VERSION, identity, fields, source_sha256)


@dataclass
class ClipJob:
    """One clip to take: which, how it is asked for and made, and what it must start and end on."""

    clip: str
    """`chunk_003` or `b003`: the takes file's name."""
    kind: ClipKind
    beat: int
    identity: str
    source: Path
    """The picture it is made from (the storyboard image, the previous chunk's last frame, a bridge's
    outgoing frame): also what its first frame must be."""
    request: Callable[[int], VideoRequest]
    """attempt -> the request (its seed is `core.takes.take_seed`)."""
    make: Callable[[VideoRequest, Path], Generation]
    """Asks the backend and checks the clip's shape (frames, size, rate)."""
    files: Callable[[int], tuple[str, str | None]]
    """take -> (the clip's key, its last frame's key or None) relative to the video."""
    fps: int
    moves: bool = True
    expected_last: Path | None = None
    references: tuple[Path, ...] = ()
    prompt: str = ""


@dataclass
class ClipTakes:
    """A clip's outcome: the take used, every take it has, and the files to store."""

    chosen: dict[str, Any]
    records: list[dict[str, Any]]
    files: dict[str, Path]
    """Keys (relative to the video) -> local files: the takes made now, the takes file, and the chosen
    take's clip and last frame."""
    stored: set[str]
    """Of `files`, those already in the store, unchanged."""
    paid_usd: Decimal = Decimal(0)
    """What this render paid for the clip (its new takes and judge calls)."""
    retakes_made: int = 0
    warnings: list[str] = field(default_factory=list)
    made: list[int] = field(default_factory=list)
    """Numbers of the takes made by this render."""

    @property
    def path(self) -> Path:
        return self.files[str(self.chosen["file"])]

    @property
    def last_frame(self) -> Path | None:
        last = self.chosen.get("last_frame")
        return self.files[str(last)] if last else None


def _summary(chosen: Mapping[str, Any], tried: Sequence[Mapping[str, Any]]) -> str:
    failed = "; ".join(f"take {r['take']}: {', '.join(r.get('failed') or [])}" for r in tried)
    return f"no take passed its checks ({failed}); using take {chosen['take']}, the best of them"


def take_clip(
    job: ClipJob,
    store: ArtifactStore,
    video_id: str,
    scratch: Path,
    policy: TakePolicy,
    pinned: int | None = None,
    continues_from: str | None = None,
    fresh: bool = False,
) -> ClipTakes:
    """Take `job`'s clip: reuse a stored take asked for with the same request, else make it; measure it;
    while it fails and `policy` allows, take it again with the next seed. `fresh` (a pair chosen for
    remaking): reuse nothing; make a new take with the first seed none of the stored takes was asked with,
    kept beside the others. With `pinned`, use that take
    of the clip as stored and make nothing (`continues_from`: the sha256 of the picture it must start
    from, for a continuous chunk; when take `pinned` does not start there, the best take that does).
    Raises `TakeNotFound` when no stored take will do."""
    scratch.mkdir(parents=True, exist_ok=True)
    records = stored_takes(store, video_id, job.clip)
    if pinned is not None:
        return _pinned(job, store, video_id, scratch, records, pinned, continues_from)
    files: dict[str, Path] = {}
    stored: set[str] = set()
    tried: list[dict[str, Any]] = []
    made: list[int] = []
    paid = Decimal(0)
    retakes = 0
    warnings: list[str] = []
    source_sha = digest_bytes(job.source.read_bytes())
    asked = {r.get("request") for r in records} if fresh else set()

    def unasked(attempt: int) -> int:
        """`attempt`, or with `fresh` the first from it whose request no stored take was made with."""
        while request_key(job.identity, job.request(attempt), source_sha) in asked:
            attempt += 1
        return attempt

    attempt = unasked(0)
    tries = 0  # takes tried by this call: the first, then its retakes
    while True:
        request = job.request(attempt)
        key = request_key(job.identity, request, source_sha)
        found = (
            None
            if fresh
            else next((r for r in records if r.get("request") == key and _whole(store, video_id, r)), None)
        )
        if found is not None:
            record = found
            _add_stored(store, video_id, record, files, stored)
            spent = Decimal(0)
        else:
            record, spent = _make(job, request, key, source_sha, decide.next_take(records), attempt, scratch, policy)
            record["retake"] = tries > 0
            records.append(record)
            made.append(int(record["take"]))
            files[str(record["file"])] = scratch / Path(str(record["file"])).name
            if record.get("last_frame"):
                files[str(record["last_frame"])] = scratch / Path(str(record["last_frame"])).name
        if tries > 0:
            policy.allowance.settle(policy.retake_usd, spent)
            retakes += 1 if found is None else 0
        paid += spent
        tried.append(record)
        if record.get("passed") or tries >= policy.retakes:
            break
        if not policy.allowance.reserve(policy.retake_usd):
            warnings.append(
                decide.retake_refusal(job.clip, policy.retake_usd, policy.allowance.left, record.get("failed") or [])
            )
            break
        attempt, tries = unasked(attempt + 1), tries + 1
    chosen = dict(decide.best(tried))
    if not chosen.get("passed") and policy.check:
        warnings.append(f"{job.clip}: {_summary(chosen, tried)}")
    index = scratch / f"{job.clip}.takes.json"
    index.write_text(json.dumps({"clip": job.clip, "takes": records}, indent=2, sort_keys=True), encoding="utf-8")
    files[layout.takes_index(job.clip)] = index
    return ClipTakes(chosen, records, files, stored, paid, retakes, warnings, made)


def _whole(store: ArtifactStore, video_id: str, record: Mapping[str, Any]) -> bool:
    keys = [record["file"], *([record["last_frame"]] if record.get("last_frame") else [])]
    return all(store.exists(layout.video_key(video_id, str(k))) for k in keys)


def _add_stored(
    store: ArtifactStore, video_id: str, record: Mapping[str, Any], files: dict[str, Path], stored: set[str]
) -> None:
    for relative in [record["file"], *([record["last_frame"]] if record.get("last_frame") else [])]:
        files[str(relative)] = store.local_path(layout.video_key(video_id, str(relative)))
        stored.add(str(relative))


def _make(
    job: ClipJob,
    request: VideoRequest,
    key: str,
    source_sha: str,
    number: int,
    attempt: int,
    scratch: Path,
    policy: TakePolicy,
) -> tuple[dict[str, Any], Decimal]:
    """Make take `number` (attempt `attempt`), measure it, ask the judge: its record and what it cost."""
    video_rel, last_rel = job.files(number)
    out = scratch / Path(video_rel).name
    gen = job.make(request, out)
    last = None
    if last_rel is not None:
        last = scratch / Path(last_rel).name
        probe.last_frame(out, last)
    checks = (
        measure.check_clip(out, job.kind, job.source, job.expected_last, job.fps, job.moves, job.references)
        if policy.check
        else []
    )
    score = reason = None
    spent = Decimal(str(gen.cost_usd))
    judged: dict[str, Any] | None = None
    if policy.check and policy.judged:
        if policy.judge is None:
            raise ValueError("qc.judge: replicate needs a judge bound to the render's backend (TakePolicy.with_judge)")
        verdict = policy.judge(out, job.prompt, job.references)
        score, reason = verdict.score, verdict.reason
        spent += Decimal(str(verdict.cost_usd))
        judged = verdict.as_record()
    found = decide.verdict(checks, score, policy.min_score)
    record: dict[str, Any] = {
        "clip": job.clip,
        "take": number,
        "attempt": attempt,
        "beat": job.beat,
        "kind": job.kind,
        "file": video_rel,
        "last_frame": last_rel,
        "request": key,
        "model": gen.model,
        "seed": gen.seed,
        "cost_usd": float(spent),
        "cache_hit": gen.cache_hit,
        "extra": dict(gen.extra),
        "source_sha256": source_sha,
        "end_sha256": _file_sha(job.expected_last),
        "checks": [c.as_record() for c in checks],
        **found.as_record(),
        "reason": reason,
        "judged": judged,
    }
    return record, spent


def _pinned(
    job: ClipJob,
    store: ArtifactStore,
    video_id: str,
    scratch: Path,
    records: list[dict[str, Any]],
    pinned: int,
    continues_from: str | None,
) -> ClipTakes:
    whole = [r for r in records if _whole(store, video_id, r)]
    numbers = ", ".join(str(r["take"]) for r in whole) or "none"
    exact = [r for r in whole if int(r["take"]) == pinned]
    if continues_from is None:
        if not exact:
            raise TakeNotFound(f"{job.clip} has no take {pinned} (its takes: {numbers})")
        chosen = exact[0]
    else:
        starts = [r for r in whole if r.get("source_sha256") == continues_from]
        same = [r for r in exact if r in starts]
        if not starts:
            raise TakeNotFound(
                f"{job.clip} has no take that continues from the take chosen before it (its takes: {numbers}); "
                "pin a take whose clips were made one after the other, or leave take out to make them"
            )
        chosen = same[0] if same else dict(decide.best(starts))
    files: dict[str, Path] = {}
    stored: set[str] = set()
    _add_stored(store, video_id, chosen, files, stored)
    index = scratch / f"{job.clip}.takes.json"
    index.write_text(json.dumps({"clip": job.clip, "takes": records}, indent=2, sort_keys=True), encoding="utf-8")
    files[layout.takes_index(job.clip)] = index
    return ClipTakes(dict(chosen), records, files, stored)


def video_takes(store: ArtifactStore, plan: Plan) -> list[dict[str, Any]]:
    """Every take of every clip of `plan`'s video, in timeline order, each marked `chosen` when the
    current pair or bridge uses it."""
    rows: list[dict[str, Any]] = []
    for beat in plan.beats:
        record = read_manifest(store, plan.video_id, layout.pair_manifest(beat.pair_key)) or {}
        used = {str(c.get("clip")): c.get("take") for c in record.get("chunks", [])}
        for chunk in beat.chunks:
            clip = chunk_clip_name(chunk.index)
            for take in stored_takes(store, plan.video_id, clip):
                rows.append({**take, "chosen": used.get(clip) == take["take"], "beat_name": beat.name})
    for bridge in plan.bridges:
        record = read_manifest(store, plan.video_id, layout.bridge_manifest(bridge.key)) or {}
        for take in stored_takes(store, plan.video_id, bridge.key):
            rows.append({**take, "chosen": record.get("take") == take["take"], "beat_name": bridge.key})
    return rows


def chunk_clip_name(chunk_index: int) -> str:
    """A chunk's name in its takes file and in records (`chunk_003`)."""
    return f"chunk_{chunk_index:03d}"


def chunk_file(pair: Artifacts, chunk_index: int, last_frame: bool = False) -> Path:
    """The local file of the take a pair uses for chunk `chunk_index` (its clip, or its last frame)."""
    for chunk in pair.record.get("chunks", []):
        if int(chunk["index"]) == chunk_index:
            key = chunk.get("last_frame" if last_frame else "file")
            if key:
                return pair.path(str(key))
    fallback = layout.chunk_last_frame(chunk_index) if last_frame else layout.chunk_video(chunk_index)
    return pair.path(fallback)


def bridge_file(made: Artifacts) -> Path:
    """The local file of the take a bridge uses."""
    return made.path(str(made.record.get("file") or layout.bridge_video(str(made.record["bridge"]))))
