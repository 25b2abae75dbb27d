"""`videos/<id>/report.html`: one self-contained page about a rendered video, readable offline.

It shows the storyboard (thumbnails embedded as data URIs, each linking to its PNG), the timeline
picture, the plan, per-stage costs, cache answers and timings from the manifests, the check results when
given, and a relative link to every artifact in the video's folder (so the page works from a local
folder, a synced copy of the S3 prefix, or a static host).

`build_report` is pure apart from reading the storyboard images it is given; `collect` reads what a
store holds for a video; `write_report` does both and stores the page beside the final video. The wall
times and check results come from the Dagster instance (`defs/report.py`, which also holds the `report`
asset that writes the page): nothing here imports Dagster.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from vidgen_assets.core.plan import Plan, seconds
from vidgen_assets.media import preview, probe
from vidgen_assets.media.timeline import timeline_png
from vidgen_assets.pages import render_page
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import read_manifest
from vidgen_assets.storage.store import ArtifactStore
from vidgen_assets.takes import video_takes

REPORT = "report.html"
THUMB_WIDTH = 320


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome as the report shows it."""

    name: str
    passed: bool
    detail: str = ""


@dataclass
class ReportInputs:
    """What a report is built from: the manifests (by stage, pairs as `chunk_pair/p000`), the files in
    the video's folder (keys relative to it) and local paths of the storyboard images."""

    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    storyboard: dict[int, Path] = field(default_factory=dict)
    """Beat index -> the local path of its storyboard image."""
    references: dict[str, Path] = field(default_factory=dict)
    """Reference name -> the local path of its stored image."""
    takes: list[dict[str, Any]] = field(default_factory=list)
    """Every take of the clips that have more than one (`takes.video_takes` rows), in timeline order."""
    take_frames: dict[tuple[str, int], str] = field(default_factory=dict)
    """(clip, take) -> a data URI of the take's middle frame (absent when it could not be drawn)."""


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def thumbnail_uri(path: Path, width: int = THUMB_WIDTH) -> str:
    """A JPEG thumbnail of an image as a data URI."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        height = max(1, round(width * rgb.height / rgb.width))
        buffer = io.BytesIO()
        rgb.resize((width, height), Image.Resampling.BILINEAR).save(buffer, format="JPEG", quality=80)
    return _data_uri(buffer.getvalue(), "image/jpeg")


def _money(value: object) -> str:
    try:
        return f"${float(str(value)):.4f}"
    except ValueError:
        return str(value)


def _cache(record: Mapping[str, Any]) -> str:
    if record.get("cached"):
        return "reused (same inputs)"
    calls = record.get("generations", record.get("chunks"))
    if not isinstance(calls, list):
        return ""
    answers = sorted(
        {str(c.get("cache", "hit" if c.get("cache_hit") else "miss")) for c in calls if isinstance(c, dict)}
    )
    return ", ".join(answers)


def _models(record: Mapping[str, Any]) -> str:
    calls = record.get("generations", record.get("chunks"))
    if not isinstance(calls, list):
        return ""
    return ", ".join(sorted({str(c["model"]) for c in calls if isinstance(c, dict) and c.get("model")}))


def _stage_rows(
    plan: Plan, manifests: Mapping[str, Mapping[str, Any]], timings: Mapping[str, float]
) -> list[dict[str, Any]]:
    """Each stage's row of the stage table: its own cost, models, cache answers, wall time and manifest."""
    rows = []
    names = ["video_spec", "storyboard", *(f"chunk_pair/{k}" for k in plan.pair_keys), "music"]
    for name in [*names, "stitched_video", "final_video"]:
        record = manifests.get(name)
        manifest = layout.PLAN if name == "video_spec" else (
            layout.pair_manifest(name.split("/", 1)[1]) if name.startswith("chunk_pair/")
            else layout.MANIFESTS.get(name, "")
        )  # fmt: skip
        wall = timings.get(name)
        if wall is None and record is not None and isinstance(record.get("wall_s"), int | float):
            wall = float(record["wall_s"])
        row: dict[str, Any] = {"name": name, "made": record is not None, "manifest": manifest}
        row["wall"] = f"{wall:.1f} s" if wall is not None else ""
        if record is not None:
            # The final video's cost is the whole video's: the per-stage line is its own work (none).
            own = name in ("video_spec", "stitched_video", "final_video")
            row |= {"cost": "" if own else _money(record.get("cost_usd", 0)), "models": _models(record)}
            row["cache"] = _cache(record)
        rows.append(row)
    return rows


def _storyboard_figures(plan: Plan, thumbs: Mapping[int, str]) -> list[dict[str, Any]]:
    """Each beat's storyboard picture (linking to its PNG), its timing, camera, words and prompt."""
    fps = plan.fps
    out = []
    for beat in plan.beats:
        caption = f"{beat.index}: {beat.name} · {seconds(beat.start_frame, fps)}-{seconds(beat.end_frame, fps)}"
        caption += f" · {beat.camera}" + (f" · “{beat.text}”" if beat.text else "")
        if beat.uses:
            caption += f" · uses {', '.join(beat.uses)}"
        out.append({
            "href": layout.storyboard_image(beat.index), "alt": f"storyboard {beat.name}",
            "src": thumbs.get(beat.index), "missing": "no storyboard image yet", "caption": [caption, beat.prompt],
        })  # fmt: skip
    return out


def _reference_section(plan: Plan, inputs: ReportInputs) -> list[dict[str, Any]]:
    """Each reference image as stored, its words, and the beats that show it."""
    out = []
    for ref in plan.references:
        path = inputs.references.get(ref.name)
        beats = ", ".join(f"{b.index}: {b.name}" for b in plan.beats if ref.name in b.uses) or "none"
        caption = (
            f"{ref.name} · {ref.file} · {ref.width}x{ref.height}{' · alpha' if ref.has_alpha else ''} · "
            f"sha256 {ref.sha256[:12]}"
        )
        lines = [caption, *([f"“{ref.describe}”"] if ref.describe else []), f"used by {beats}"]
        out.append({
            "href": f"references/{ref.file}", "alt": f"reference {ref.name}",
            "src": thumbnail_uri(path) if path is not None else None, "missing": "not stored", "caption": lines,
        })  # fmt: skip
    return out


def _takes_section(inputs: ReportInputs) -> list[dict[str, Any]]:
    """The clips made more than once: each clip's takes side by side (a middle frame each), the one used
    marked, with its verdict, score, seed and cost."""
    clips: dict[str, list[dict[str, Any]]] = {}
    for row in inputs.takes:
        clips.setdefault(str(row["clip"]), []).append(row)
    out = []
    for clip, rows in clips.items():
        takes = []
        for row in rows:
            number = int(row["take"])
            score = row.get("score")
            takes.append({
                "number": number, "href": row["file"], "src": inputs.take_frames.get((clip, number)),
                "used": bool(row.get("chosen")), "passed": bool(row.get("passed", True)),
                "failed": ", ".join(row.get("failed") or []),
                "score": f"{float(score):.2f}" if score is not None else None, "reason": row.get("reason") or "",
                "seed": row.get("seed"), "cost": _money(row.get("cost_usd", 0)),
            })  # fmt: skip
        out.append({"clip": clip, "beat_name": rows[0].get("beat_name", ""), "takes": takes})
    return out


def _summary(plan: Plan, final: Mapping[str, Any]) -> dict[str, str]:
    spec = plan.spec
    summary = {
        "duration": f"{plan.duration_s:g} s ({plan.total_frames} frames)",
        "size": f"{plan.width}x{plan.height} @ {plan.fps} fps",
        "beats / chunks / pairs": f"{len(plan.beats)} / {len(plan.chunks)} / {len(plan.pair_keys)}",
        "backend": spec.backend,
        "planner": plan.planner,
        "music": (f"your track {spec.music.file}" if spec.music.file else f"{spec.music_mood}, {spec.music.bpm} bpm")
        if spec.music
        else "none",
        "cta": spec.cta or "none",
        "cost": _money(final.get("cost_usd", 0)) if final else "not rendered yet",
    }
    if final:
        summary["final video"] = f"{final.get('duration_s', 0):.3f} s, {final.get('width')}x{final.get('height')}, " + (
            f"{int(final.get('bytes', 0)) / 1e6:.2f} MB, audio {'yes' if final.get('audio') else 'no'}"
        )
    return summary


def build_report(
    plan: Plan,
    inputs: ReportInputs,
    checks: Sequence[CheckResult] = (),
    timings: Mapping[str, float] | None = None,
) -> str:
    """The report page's HTML (`templates/report.html.j2`). `timings` are wall seconds by stage
    (`storyboard`, `chunk_pair/p000`, ...)."""
    final = inputs.manifests.get("final_video", {})
    files = sorted(f for f in inputs.files if f != REPORT)
    fps = plan.fps
    thumbs = {index: thumbnail_uri(image) for index, image in sorted(inputs.storyboard.items())}
    timeline = [
        {
            "pair": beat.pair_key, "name": beat.name, "start": seconds(beat.start_frame, fps),
            "end": seconds(beat.end_frame, fps), "chunks": " + ".join(f"{c.kind} {c.frames}f" for c in beat.chunks),
            "out": f"{beat.transition} {seconds(beat.transition_frames, fps)}" if beat.transition_frames else "cut",
            "text": beat.text or "",
        }
        for beat in plan.beats
    ]  # fmt: skip
    by_stage = final.get("cost_by_stage") if final else None
    return render_page(
        "report.html.j2",
        video_id=plan.video_id,
        prompt=plan.spec.prompt,
        summary=list(_summary(plan, final).items()),
        player={"poster": next(iter(thumbs.values()), None)} if "final.mp4" in files else None,
        storyboard=_storyboard_figures(plan, thumbs),
        references=_reference_section(plan, inputs),
        timeline_src=_data_uri(timeline_png(plan), "image/png"),
        timeline=timeline,
        stages=_stage_rows(plan, inputs.manifests, timings or {}),
        cost_by_stage=[(k, _money(v)) for k, v in sorted(by_stage.items())] if isinstance(by_stage, dict) else None,
        total_cost=_money(final.get("cost_usd", 0)),
        takes=_takes_section(inputs),
        checks=list(checks),
        warnings=list(plan.warnings),
        files=files,
    )


def collect(store: ArtifactStore, plan: Plan) -> ReportInputs:
    """The manifests, the file list and local storyboard images a store holds for this video."""
    video_id = plan.video_id
    found = ReportInputs()
    plan_record = read_manifest(store, video_id, layout.PLAN)
    if plan_record is not None:
        found.manifests["video_spec"] = {"cost_usd": 0.0}
    for stage in ("storyboard", "music", "stitched_video", "final_video"):
        record = read_manifest(store, video_id, layout.MANIFESTS[stage])
        if record is not None:
            found.manifests[stage] = record
    for pair in plan.pair_keys:
        record = read_manifest(store, video_id, layout.pair_manifest(pair))
        if record is not None:
            found.manifests[f"chunk_pair/{pair}"] = record
    prefix = layout.video_prefix(video_id)
    found.files = sorted(key[len(prefix) :] for key in store.list(prefix))
    for beat in plan.beats:
        key = layout.video_key(video_id, layout.storyboard_image(beat.index))
        if store.exists(key):
            found.storyboard[beat.index] = store.local_path(key)
    for ref in plan.references:
        key = layout.video_key(video_id, f"references/{ref.file}")
        if store.exists(key):
            found.references[ref.name] = store.local_path(key)
    rows = video_takes(store, plan)
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row["clip"])] = counts.get(str(row["clip"]), 0) + 1
    found.takes = [row for row in rows if counts[str(row["clip"])] > 1]
    for row in found.takes:
        uri = _middle_frame_uri(store, video_id, str(row["file"]))
        if uri is not None:
            found.take_frames[(str(row["clip"]), int(row["take"]))] = uri
    return found


def _middle_frame_uri(store: ArtifactStore, video_id: str, relative: str) -> str | None:
    """A thumbnail of a clip's middle frame, or None when it cannot be drawn (a report never fails for a
    picture)."""
    try:
        video = store.local_path(layout.video_key(video_id, relative))
        [frame] = preview.frames_at(video, [probe.probe(video).frames // 2])
        image = Image.fromarray(frame)
        height = max(1, round(THUMB_WIDTH * image.height / image.width))
        buffer = io.BytesIO()
        image.resize((THUMB_WIDTH, height), Image.Resampling.BILINEAR).save(buffer, format="JPEG", quality=80)
    except Exception:  # a missing or unreadable take: shown without its frame
        return None
    return _data_uri(buffer.getvalue(), "image/jpeg")


def write_report(
    store: ArtifactStore,
    plan: Plan,
    checks: Sequence[CheckResult] = (),
    timings: Mapping[str, float] | None = None,
) -> str:
    """Build the report from what the store holds and put it at `videos/<id>/report.html`; return the key."""
    page = build_report(plan, collect(store, plan), checks, timings)
    key = layout.video_key(plan.video_id, REPORT)
    store.put_bytes(key, page.encode("utf-8"))
    return key
