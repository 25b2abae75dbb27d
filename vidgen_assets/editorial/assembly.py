"""The finished timeline of a rendered video, gathered from what its stages stored, and the files the
final stage writes beside `final.mp4` for it (`final.otio`, the title images, any tail a transition
needs that the stitch did not keep).

Media paths are relative to the video's folder (`videos/<id>/`), where every export is written, so a
copy of that folder opens anywhere. No Dagster here: the final stage calls `assembly_files`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidgen_assets.core.editorial import ClipFacts, EditTimeline, Media, chunk_key, edit_timeline, needs_tail, title_key
from vidgen_assets.core.plan import Plan
from vidgen_assets.editorial import otio_timeline
from vidgen_assets.media import commands, ops
from vidgen_assets.media.text import render_text_overlay
from vidgen_assets.stitching import safe_margins
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import read_manifest
from vidgen_assets.storage.store import ArtifactStore

FINAL_OTIO = "final.otio"
TITLES_DIR = "titles"
EDIT_DIR = "edit"


class ExportError(ValueError):
    """A video cannot be exported as it is stored; the message says what is missing and what to do."""


def title_image(key: str) -> str:
    """`titles/beat_02.png`: a title's full-frame image, as vidgen burns it in."""
    return f"{TITLES_DIR}/{key}.png"


def made_tail(pair: str) -> str:
    """`edit/p002.tail.mp4`: a tail the export made because the stitch did not keep one (reencode)."""
    return f"{EDIT_DIR}/{pair}.tail.mp4"


@dataclass(frozen=True)
class Gathered:
    """A video's timeline and where each of its media files is, relative to the video's folder."""

    plan: Plan
    edit: EditTimeline
    paths: dict[tuple[str, str], str]

    def path(self, media: Media) -> str:
        return self.paths[(media.kind, media.key)]


def _record(store: ArtifactStore, plan: Plan, manifest: str, what: str) -> dict[str, Any]:
    found = read_manifest(store, plan.video_id, manifest)
    if found is None:
        key = layout.video_key(plan.video_id, manifest)
        raise ExportError(f"video {plan.video_id!r} is incomplete: no {what} ({key})")
    return found


def clip_facts(generation: Mapping[str, Any]) -> ClipFacts:
    seed = generation.get("seed")
    return ClipFacts(
        model=str(generation["model"]) if generation.get("model") is not None else None,
        seed=int(seed) if seed is not None else None,
        cost_usd=float(generation.get("cost_usd", 0.0) or 0.0),
    )


def gather(
    plan: Plan,
    store: ArtifactStore,
    voice_record: Mapping[str, Any] | None,
    music_record: Mapping[str, Any] | None,
) -> Gathered:
    """The timeline from the plan and the stored records of its pairs, bridges, music and voice (the
    title images and any made tail have fixed names, see `assembly_files`). Raises `ExportError`
    naming a record the video does not have."""
    facts: dict[str, ClipFacts] = {}
    paths: dict[tuple[str, str], str] = {}
    for beat in plan.beats:
        record = _record(store, plan, layout.pair_manifest(beat.pair_key), f"chunk pair {beat.pair_key}")
        used = {
            int(c["index"]): str(c.get("file") or layout.chunk_video(int(c["index"]))) for c in record.get("chunks", [])
        }
        for chunk in record.get("chunks", []):
            facts[chunk_key(int(chunk["index"]))] = clip_facts(chunk)
        for chunk in beat.chunks:
            paths[("chunk", chunk_key(chunk.index))] = used.get(chunk.index, layout.chunk_video(chunk.index))
        if needs_tail(beat):
            kept = layout.pair_edge(beat.pair_key, "tail")
            paths[("tail", beat.pair_key)] = kept if kept in record.get("files", []) else made_tail(beat.pair_key)
    for bridge in plan.bridges:
        record = _record(store, plan, layout.bridge_manifest(bridge.key), f"bridge {bridge.key}")
        generations = record.get("generations") or [{}]
        facts[bridge.key] = clip_facts(generations[0])
        paths[("bridge", bridge.key)] = str(record.get("file") or layout.bridge_video(bridge.key))
    music = bool(music_record and music_record.get("mix"))
    if music and music_record is not None:
        paths[("music", "music")] = str(music_record["mix"])
    voice_frames: dict[str, int] = {}
    for line in (voice_record or {}).get("lines", []):
        if line.get("clip"):
            voice_frames[str(line["key"])] = max(1, round(float(line["spoken_s"]) * plan.fps))
            paths[("voice", str(line["key"]))] = str(line["clip"])
    edit = edit_timeline(plan, facts, voice_frames, music)
    for track in edit.tracks:
        for clip in track.clips:
            if clip.media.kind == "title":
                paths[("title", clip.media.key)] = title_image(clip.media.key)
    return Gathered(plan=plan, edit=edit, paths=paths)


def media_note(store: ArtifactStore, video_id: str) -> dict[str, str]:
    """Where the media of an export are: beside it, in the video's folder; for S3, how to get them."""
    folder = store.uri(layout.video_prefix(video_id))
    if folder.startswith("s3://"):
        folder = folder.rstrip("/") + "/"
    note = {"paths": "relative to the folder of this file (the video's folder in vidgen's store)", "folder": folder}
    if folder.startswith("s3://"):
        note["s3"] = (
            f"the media are objects under {folder}; copy the folder (aws s3 sync {folder} ./{video_id}) "
            f"and open this file from the copy"
        )
    return note


def otio_text(gathered: Gathered, store: ArtifactStore) -> str:
    timeline = otio_timeline.to_otio(gathered.edit, gathered.path, media_note(store, gathered.plan.video_id))
    return otio_timeline.to_json(timeline)


def _make_tail(plan: Plan, beat_index: int, store: ArtifactStore, out: Path) -> Path:
    """A beat's tail (its last own frame and the frames it plays into the next beat), from its chunks,
    lossless: for a video stitched without keeping one (reencode)."""
    beat = plan.beats[beat_index]
    record = _record(store, plan, layout.pair_manifest(beat.pair_key), f"chunk pair {beat.pair_key}")
    used = {
        int(c["index"]): str(c.get("file") or layout.chunk_video(int(c["index"]))) for c in record.get("chunks", [])
    }
    clips = [store.local_path(layout.video_key(plan.video_id, used[c.index])) for c in beat.chunks]
    end = beat.own_frames + beat.overlap_frames
    ops.pair_pieces(clips, [], plan.fps, None, [commands.Stretch(beat.own_frames - 1, end, out)])
    return out


def assembly_files(
    plan: Plan,
    store: ArtifactStore,
    scratch: Path,
    voice_record: Mapping[str, Any] | None,
    music_record: Mapping[str, Any] | None,
) -> dict[str, Path]:
    """What the final stage writes beside `final.mp4` for an editor: the title images (each beat's text
    and the CTA, as burnt in), a tail for each transition that needs one the stitch did not keep, and
    `final.otio`, the finished timeline. Keys are relative to the video's folder."""
    files: dict[str, Path] = {}
    (scratch / TITLES_DIR).mkdir(parents=True, exist_ok=True)
    for overlay in plan.overlays:
        beat = next(b for b in plan.beats if b.start_frame == overlay.start_frame)
        relative = title_image(title_key(overlay.style, beat.index))
        files[relative] = render_text_overlay(
            overlay.text, plan.width, plan.height, scratch / relative, overlay.style, safe_margins(plan)
        )  # as burnt in: inside the spec's safe area
    gathered = gather(plan, store, voice_record, music_record)
    for beat in plan.beats:
        tail = gathered.paths.get(("tail", beat.pair_key))
        if tail is not None and tail.startswith(EDIT_DIR + "/"):
            (scratch / EDIT_DIR).mkdir(parents=True, exist_ok=True)
            files[tail] = _make_tail(plan, beat.index, store, scratch / tail)
    otio_path = scratch / FINAL_OTIO
    otio_path.write_text(otio_text(gathered, store), encoding="utf-8")
    files[FINAL_OTIO] = otio_path
    return files
