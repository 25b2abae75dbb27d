"""`videos/<id>/variants.html`: a spec's videos side by side, to compare.

One self-contained page beside the spec's own video: for the spec and each variant, its final video
(played from its own folder by a relative link, so the page works from a local folder, a synced copy of
the S3 prefix or a static host), what the variant changes, its size, its cost, its checks and a link to
its report; under them a contact sheet that lines the videos' beats up, one column per beat, each cell the
middle frame of that beat (`videos/<vid>/posters/beat_NN.jpg`). A video not made yet is shown as pending
(or as failed, when its last run failed).

Who writes it: every video of a set knows its set from `videos/<vid>/variant_set.json` (the set's id and
its members, what each changes and its size), stored when the video is registered (`vidgen render`, or
the run the `spec_files` sensor requests). The `report` step of each video's run writes its posters and
then the page, listing the members finished so far and marking the others pending, so with the daemon
the page appears with the first video done and fills in as each one finishes. The membership is the set
video's own copy (`videos/<set id>/variant_set.json`, re-written whenever the file's set changes) when
there is one, so a variant removed from the file drops off the page (its own folder is kept). The page is
written under the page's lock (`storage.lock.artifact_lock`): two runs finishing at once take turns, and
each reads the others' manifests after its own are written.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal

from PIL import Image

from vidgen_assets.core.cost import usd
from vidgen_assets.core.plan import Plan
from vidgen_assets.core.spec import VARIANT_SEPARATOR, Spec
from vidgen_assets.core.variants import describe_changes, variant_changes
from vidgen_assets.pages import render_page
from vidgen_assets.report import REPORT, CheckResult
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import load_plan
from vidgen_assets.storage.lock import artifact_lock
from vidgen_assets.storage.store import ArtifactStore

PAGE = "variants.html"
SET_FILE = "variant_set.json"
NO_SET = '{"set": null}'
"""A video's set when it is in none (its spec file's variants were taken out): its stored set is removed."""
POSTER_WIDTH = 240


@dataclass(frozen=True)
class Member:
    """One video of a set as registered: its id, what it changes and its size."""

    video_id: str
    changes: str
    """What it changes (`cta='Try it free'`), or `the spec` for the set's own video."""
    size: str


@dataclass(frozen=True)
class Row:
    """One video of the set as the page shows it."""

    video_id: str
    changes: str
    size: str
    made: bool
    cost_usd: float = 0.0
    state: str = "pending"
    """made | pending | failed (its last run failed) | canceled ..."""
    checks: tuple[CheckResult, ...] = ()
    posters: tuple[tuple[str, str], ...] = ()
    """(beat name, poster href relative to the page) per beat, in order."""


def members_of(base: Spec, specs: Sequence[Spec]) -> list[Member]:
    """The set of `base` (the spec, then each variant) among `specs`, as registered."""
    changes = {f"{base.id}{VARIANT_SEPARATOR}{v.name}": describe_changes(v.changes) for v in variant_changes(base)}
    out = []
    for spec in specs:
        if spec.id != base.id and spec.id not in changes:
            continue
        width, height = spec.size
        size = f"{width}x{height} {spec.aspect_ratio} {spec.fps} fps, {spec.duration:g} s"
        out.append(Member(spec.id, changes.get(spec.id, "the spec"), size))
    return out


def set_text(set_id: str, members: Sequence[Member]) -> str:
    """A set's membership as stored in each member's `variant_set.json`."""
    return json.dumps({"set": set_id, "members": [asdict(m) for m in members]}, indent=2, sort_keys=True) + "\n"


def store_set(store: ArtifactStore, video_id: str, text: str) -> None:
    """Store a video's copy of its set (an unchanged one is not written again); `NO_SET` removes it."""
    key = layout.video_key(video_id, SET_FILE)
    if json.loads(text).get("set") is None:
        if store.exists(key):
            store.delete(key)
        return
    data = text.encode("utf-8")
    if not store.exists(key) or store.get_bytes(key) != data:
        store.put_bytes(key, data)


def stored_set(store: ArtifactStore, video_id: str) -> tuple[str, list[Member]] | None:
    """(set id, members) of a video's stored copy of its set; None when it belongs to none."""
    key = layout.video_key(video_id, SET_FILE)
    if not store.exists(key):
        return None
    data = json.loads(store.get_bytes(key))
    return str(data["set"]), [Member(**m) for m in data["members"]]


def current_set(store: ArtifactStore, video_id: str) -> tuple[str, list[Member]] | None:
    """The set a video is in now: the set video's own copy when it has one (the newest registration of
    the file), else the video's copy; None when the video is in no set (or was removed from it)."""
    own = stored_set(store, video_id)
    if own is None:
        return None
    found = stored_set(store, own[0]) or own
    return found if any(m.video_id == video_id for m in found[1]) else None


def poster_key(video_id: str, beat_index: int) -> str:
    return layout.video_key(video_id, f"posters/beat_{beat_index:02d}.jpg")


def write_posters(store: ArtifactStore, plan: Plan) -> list[str]:
    """The middle frame of each beat of the final video, as small JPEGs beside it; their keys."""
    from vidgen_assets.media.preview import frames_at

    final = store.local_path(layout.video_key(plan.video_id, "final.mp4"))
    frames = frames_at(final, [b.start_frame + b.frames // 2 for b in plan.beats])
    keys = []
    for beat, frame in zip(plan.beats, frames, strict=True):
        image = Image.fromarray(frame)
        image.thumbnail((POSTER_WIDTH, POSTER_WIDTH))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
        keys.append(poster_key(plan.video_id, beat.index))
        store.put_bytes(keys[-1], out.getvalue())
    return keys


def build_page(base_id: str, rows: Sequence[Row]) -> str:
    """The page's HTML (`templates/variants.html.j2`): one card per video, the spec's first, then the
    contact sheet of their beats."""
    beats = max((len(r.posters) for r in rows), default=0)
    names = [name for name, _ in next(r.posters for r in rows if len(r.posters) == beats)] if beats else []
    return render_page(
        "variants.html.j2",
        base_id=base_id,
        rows=list(rows),
        made=sum(r.made for r in rows),
        costs=[usd(Decimal(str(r.cost_usd))) if r.made else "-" for r in rows],
        report=REPORT,
        beats=beats,
        beat_names=names,
    )


StatusOf = Callable[[str], str | None]
"""A video id -> the state of its last run (`failed`, `started`, ...), None when unknown."""
ChecksOf = Callable[[str], Sequence[CheckResult]]


def rows_for(
    store: ArtifactStore,
    members: Sequence[Member],
    status_of: StatusOf | None = None,
    checks_of: ChecksOf | None = None,
) -> list[Row]:
    """Each video's row from what the store holds (its final manifest, plan and posters)."""
    rows = []
    for member in members:
        vid = member.video_id
        key = layout.video_key(vid, layout.MANIFESTS["final_video"])
        made = store.exists(key) and store.exists(layout.video_key(vid, "final.mp4"))
        cost = float(json.loads(store.get_bytes(key)).get("cost_usd", 0.0)) if made else 0.0
        posters: list[tuple[str, str]] = []
        plan = load_plan(store, vid) if made else None
        for beat in plan.beats if plan is not None else ():
            if not store.exists(poster_key(vid, beat.index)):
                break
            posters.append((beat.name, f"../{vid}/posters/beat_{beat.index:02d}.jpg"))
        state = "made" if made else ((status_of(vid) if status_of else None) or "pending")
        checks = tuple(checks_of(vid)) if checks_of and made else ()
        rows.append(Row(vid, member.changes, member.size, made, cost, state, checks, tuple(posters)))
    return rows


def write_page(
    store: ArtifactStore,
    set_id: str,
    members: Sequence[Member],
    status_of: StatusOf | None = None,
    checks_of: ChecksOf | None = None,
) -> str:
    """Put the comparison page of `members` beside the set's own video (under the page's lock); its URI."""
    key = layout.video_key(set_id, PAGE)
    with artifact_lock(store, set_id, PAGE, "the comparison page of its variants"):
        page = build_page(set_id, rows_for(store, members, status_of, checks_of))
        store.put_bytes(key, page.encode("utf-8"))
    return store.uri(key)


def publish(
    store: ArtifactStore, video_id: str, status_of: StatusOf | None = None, checks_of: ChecksOf | None = None
) -> str | None:
    """Re-write the comparison page of the set `video_id` is in (None when it is in none): what a video's
    `report` step does once its final video is made."""
    found = current_set(store, video_id)
    if found is None:
        return None
    return write_page(store, found[0], found[1], status_of, checks_of)
