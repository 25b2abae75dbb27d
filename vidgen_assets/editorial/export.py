"""`vidgen export`: a rendered video's finished timeline, written for an editor beside its `final.mp4`.

`export(store, video_id, fmt)` checks the video is rendered, whole (every record and media file the
timeline uses is stored) and current (its final video was made from exactly the stored plan, pairs,
bridges, music and voice: the fingerprints agree), builds the OTIO timeline, writes it in the format
asked for (`videos/<id>/final.<ext>`) and returns where. On any problem it raises `ExportError` naming
what is missing, and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import opentimelineio as otio

from vidgen_assets.core.plan import Plan
from vidgen_assets.editorial import fcpxml, kdenlive, otio_timeline
from vidgen_assets.editorial.assembly import FINAL_OTIO, ExportError, Gathered, gather, media_note
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import load_plan, read_manifest
from vidgen_assets.storage.store import ArtifactStore

__all__ = ["FORMATS", "ExportError", "export", "render_format"]

RENDER_HINT = "run `vidgen render SPEC` first (what is already made is reused)"


def edl_text(timeline: Any) -> str:
    """A CMX 3600 EDL by OTIO's adapter: the video track only (the format has one picture track), each
    title as a marker (`* LOC`) on the clip under it, every transition a dissolve (`D`)."""
    copy = timeline.deepcopy()
    video = otio_timeline.video_track(copy)
    for track in list(copy.tracks):
        if track is not video:
            copy.tracks.remove(track)
    fps = int(timeline.metadata[otio_timeline.NAMESPACE]["fps"])
    for track in timeline.tracks:
        if track.kind != otio.schema.TrackKind.Video or track.name == video.name:
            continue
        for index, item in enumerate(track):
            if not isinstance(item, otio.schema.Clip):
                continue
            start = otio_timeline.frames(track.range_of_child_at_index(index).start_time, fps)
            for vindex, clip in enumerate(video):
                where = video.range_of_child_at_index(vindex)
                if isinstance(clip, otio.schema.Clip) and otio_timeline.frames(where.start_time, fps) <= start < (
                    otio_timeline.frames(where.end_time_exclusive(), fps)
                ):
                    into = start - otio_timeline.frames(where.start_time, fps)
                    first = otio_timeline.frames(clip.trimmed_range().start_time, fps)
                    clip.markers.append(
                        otio.schema.Marker(
                            name=" ".join(item.name.split()), color=otio.schema.MarkerColor.RED,
                            marked_range=otio_timeline.frames_range(first + into, 1, fps),
                        )
                    )  # fmt: skip
                    break
    text: str = otio.adapters.write_to_string(copy, "cmx_3600")
    return text


FORMATS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "otio": (FINAL_OTIO, otio_timeline.to_json),
    "edl": ("final.edl", edl_text),
    "fcpxml": ("final.fcpxml", fcpxml.write_fcpxml),
    "kdenlive": ("final.kdenlive", kdenlive.write_kdenlive),
}
"""format -> (the file written in the video's folder, how it is written from the OTIO timeline)."""


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    return fmt


def render_format(timeline: Any, fmt: str) -> str:
    """The OTIO timeline written in `fmt` (one of `FORMATS`)."""
    return FORMATS[check_format(fmt)][1](timeline)


def _manifest(store: ArtifactStore, plan: Plan, name: str, what: str, missing: list[str]) -> dict[str, Any]:
    found = read_manifest(store, plan.video_id, layout.MANIFESTS[name])
    if found is None:
        missing.append(f"{what} ({layout.MANIFESTS[name]})")
        return {}
    return found


def _current(store: ArtifactStore, plan: Plan, final: dict[str, Any]) -> None:
    """The final video was made from exactly the stored plan and pieces, else `ExportError`."""
    from vidgen_assets import stages  # the pipeline's own fingerprints

    video = plan.video_id
    missing: list[str] = []
    stitched = _manifest(store, plan, "stitched_video", "stitched video", missing)
    music = _manifest(store, plan, "music", "music", missing)
    voice = _manifest(store, plan, "voice", "voice", missing)
    soundtrack = _manifest(store, plan, "soundtrack", "soundtrack", missing)
    pairs = [read_manifest(store, video, layout.pair_manifest(k)) for k in plan.pair_keys]
    bridges = [read_manifest(store, video, layout.bridge_manifest(b.key)) for b in plan.bridges]
    missing += [f"chunk pair {k} ({layout.pair_manifest(k)})" for k, p in zip(plan.pair_keys, pairs, strict=True)
                if p is None]  # fmt: skip
    missing += [f"bridge {b.key} ({layout.bridge_manifest(b.key)})" for b, r in zip(plan.bridges, bridges, strict=True)
                if r is None]  # fmt: skip
    if missing:
        raise ExportError(f"video {video!r} is incomplete: missing {', '.join(missing)}; {RENDER_HINT}")
    mode = final.get("stitch", "copy")
    stitched_fp = stages.stitched_fingerprint(
        plan, [p.get("fingerprint") if p else None for p in pairs], mode,
        [b.get("fingerprint") if b else None for b in bridges],
    )  # fmt: skip
    stale = []
    if stitched.get("fingerprint") != stitched_fp:
        stale.append("the stitched video")
    final_fp = stages.final_fingerprint(
        plan, stitched.get("fingerprint"), music.get("fingerprint"), mode, voice.get("fingerprint"),
        soundtrack.get("fingerprint"),
    )  # fmt: skip
    if final.get("fingerprint") != final_fp:
        stale.append("the final video")
    if stale:
        raise ExportError(
            f"video {video!r} is incomplete: {' and '.join(stale)} in the store {'were' if len(stale) > 1 else 'was'} "
            f"not made from its current plan and pieces (the spec changed, a render stopped part way, or it was "
            f"rendered by an older vidgen); {RENDER_HINT}"
        )


def load(store: ArtifactStore, video_id: str) -> Gathered:
    """A rendered video's timeline, checked whole and current (else `ExportError`, saying what is
    missing)."""
    plan = load_plan(store, video_id)
    if plan is None:
        where = store.uri(layout.video_prefix(video_id))
        raise ExportError(f"video {video_id!r} is not rendered yet: nothing at {where}; {RENDER_HINT}")
    final = read_manifest(store, video_id, layout.MANIFESTS["final_video"])
    if final is None:
        raise ExportError(
            f"video {video_id!r} is not rendered yet: no final video "
            f"({store.uri(layout.video_key(video_id, layout.MANIFESTS['final_video']))}); {RENDER_HINT}"
        )
    _current(store, plan, final)
    voice = read_manifest(store, video_id, layout.MANIFESTS["voice"])
    music = read_manifest(store, video_id, layout.MANIFESTS["music"])
    gathered = gather(plan, store, voice, music)
    wanted = sorted(set(gathered.paths.values()))
    absent = [path for path in wanted if not store.exists(layout.video_key(video_id, path))]
    if absent:
        raise ExportError(f"video {video_id!r} is incomplete: missing {', '.join(absent)}; {RENDER_HINT}")
    return gathered


def export(store: ArtifactStore, video_id: str, fmt: str) -> str:
    """Write the finished timeline of a rendered video in `fmt` beside its final video; return its URI."""
    check_format(fmt)
    gathered = load(store, video_id)
    timeline = otio_timeline.to_otio(gathered.edit, gathered.path, media_note(store, video_id))
    text = render_format(timeline, fmt)
    key = layout.video_key(video_id, FORMATS[fmt][0])
    store.put_bytes(key, text.encode("utf-8"))
    return store.uri(key)


def check_spec(store: ArtifactStore, spec: Any, reference_hashes: dict[str, str], source: str) -> None:
    """The video stored under `spec.id` was rendered from this spec (the same fields and reference
    images as the spec file `source` has now), else `ExportError` naming what changed."""
    from vidgen_assets.core.spec import SpecError, read_spec_text

    key = layout.video_key(spec.id, layout.SPEC_SOURCE)
    if not store.exists(key):
        raise ExportError(f"video {spec.id!r} ({source}) is not rendered yet: nothing at "
                          f"{store.uri(layout.video_prefix(spec.id))}; {RENDER_HINT}")  # fmt: skip
    try:
        stored = read_spec_text(store.get_bytes(key).decode("utf-8"), key, default_id=spec.id)
    except SpecError:
        stored = None
    changed = sorted(
        name for name in type(spec).model_fields if stored is None or getattr(stored, name) != getattr(spec, name)
    )
    plan = load_plan(store, spec.id)
    stored_hashes = {r.name: r.sha256 for r in plan.references} if plan is not None else {}
    if stored_hashes != reference_hashes:
        changed.append("reference images")
    if changed:
        raise ExportError(
            f"{source} has changed since video {spec.id!r} was rendered ({', '.join(changed)}); {RENDER_HINT}"
        )
