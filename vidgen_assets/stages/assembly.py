"""The stitched video (every pair and bridge joined) and the final video (text, music, voice and subtitles)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from vidgen_assets.core.fingerprint import fingerprint
from vidgen_assets.core.plan import Plan
from vidgen_assets.core.voice import cues
from vidgen_assets.editorial.assembly import assembly_files
from vidgen_assets.media import loudness, ops, probe
from vidgen_assets.media.commands import Overlay
from vidgen_assets.recipes import recipe
from vidgen_assets.settings import StitchMode
from vidgen_assets.stages.common import _cached, _cost, loudness_target
from vidgen_assets.stitching import StageError, beat_texts, beat_texts_key, safe_margins, text_overlays
from vidgen_assets.stitching import copy as stitch_copy
from vidgen_assets.stitching import reencode as stitch_reencode
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts
from vidgen_assets.storage.store import ArtifactStore


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
