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
import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from vidgen_assets.core.plan import Plan, seconds
from vidgen_assets.media import preview, probe
from vidgen_assets.media.timeline import timeline_png
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


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


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
        return _e(value)


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


def _stage_rows(plan: Plan, manifests: Mapping[str, Mapping[str, Any]], timings: Mapping[str, float]) -> list[str]:
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
        if record is None:
            cells = ["<td colspan=3>not made</td>"]
        else:
            # The final video's cost is the whole video's: the per-stage line is its own work (none).
            own = "" if name in ("video_spec", "stitched_video", "final_video") else _money(record.get("cost_usd", 0))
            cells = [f"<td class=num>{own}</td>", f"<td>{_e(_models(record))}</td>", f"<td>{_e(_cache(record))}</td>"]
        link = f'<a href="{_e(manifest)}">{_e(manifest)}</a>' if manifest else ""
        time_cell = f"{wall:.1f} s" if wall is not None else ""
        rows.append(f"<tr><td>{_e(name)}</td>{''.join(cells)}<td class=num>{time_cell}</td><td>{link}</td></tr>")
    return rows


def _reference_section(plan: Plan, inputs: ReportInputs) -> list[str]:
    """Each reference image as stored, its words, and the beats that show it."""
    out = ["<h2>References</h2><div>"]
    for ref in plan.references:
        rel = f"references/{ref.file}"
        path = inputs.references.get(ref.name)
        picture = (
            f'<a href="{_e(rel)}"><img alt="reference {_e(ref.name)}" src="{thumbnail_uri(path)}"></a>'
            if path is not None
            else "<p>not stored</p>"
        )
        beats = ", ".join(f"{b.index}: {b.name}" for b in plan.beats if ref.name in b.uses) or "none"
        caption = (
            f"{ref.name} · {ref.file} · {ref.width}x{ref.height}{' · alpha' if ref.has_alpha else ''} · "
            f"sha256 {ref.sha256[:12]}"
        )
        words = f"<br>“{_e(ref.describe)}”" if ref.describe else ""
        out.append(f"<figure>{picture}<figcaption>{_e(caption)}{words}<br>used by {_e(beats)}</figcaption></figure>")
    out.append("</div>")
    return out


def _takes_section(inputs: ReportInputs) -> list[str]:
    """The clips made more than once: each clip's takes side by side (a middle frame each), the one used
    marked, with its verdict, score, seed and cost."""
    out = ["<h2>Takes</h2>", "<p>Clips made more than once; every other clip has one take. "
           "Pin another with <code>take: N</code> on its beat.</p>"]  # fmt: skip
    clips: dict[str, list[dict[str, Any]]] = {}
    for row in inputs.takes:
        clips.setdefault(str(row["clip"]), []).append(row)
    for clip, rows in clips.items():
        out.append(f"<h3>{_e(clip)} ({_e(rows[0].get('beat_name', ''))})</h3><div>")
        for row in rows:
            number = int(row["take"])
            uri = inputs.take_frames.get((clip, number))
            picture = f'<img alt="{_e(clip)} take {number}" src="{uri}">' if uri else "<p>no frame drawn</p>"
            failed = list(row.get("failed") or [])
            verdict = (
                '<span class="pass">passed</span>' if row.get("passed", True)
                else f'<span class="fail">FAILED {_e(", ".join(failed))}</span>'
            )  # fmt: skip
            used = " · <b>used</b>" if row.get("chosen") else ""
            score = (
                f" · judge {float(row['score']):.2f}: {_e(row.get('reason') or '')}"
                if row.get("score") is not None
                else ""
            )
            cost = _money(row.get("cost_usd", 0))
            caption = f"take {number}{used} · {verdict}{score} · seed {_e(row.get('seed'))} · {cost}"
            out.append(f'<figure><a href="{_e(row["file"])}">{picture}</a><figcaption>{caption}</figcaption></figure>')
        out.append("</div>")
    return out


def build_report(
    plan: Plan,
    inputs: ReportInputs,
    checks: Sequence[CheckResult] = (),
    timings: Mapping[str, float] | None = None,
) -> str:
    """The report page's HTML. `timings` are wall seconds by stage (`storyboard`, `chunk_pair/p000`, ...)."""
    spec = plan.spec
    manifests = inputs.manifests
    final = manifests.get("final_video", {})
    files = sorted(f for f in inputs.files if f != REPORT)
    fps = plan.fps
    parts: list[str] = []
    add = parts.append

    add("<!doctype html>\n<html lang=en><head><meta charset=utf-8>")
    add(f"<title>vidgen: {_e(plan.video_id)}</title>")
    add(
        "<style>body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1320px}"
        "table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:4px 8px;"
        "text-align:left;vertical-align:top}.num{text-align:right}.pass{color:#17692d}.fail{color:#b3261e}"
        "figure{display:inline-block;margin:0 12px 12px 0;vertical-align:top;width:320px}"
        "figcaption{font-size:12px}img{max-width:100%}video{max-width:640px;display:block}</style>"
    )
    add("</head><body>")
    add(f"<h1>{_e(plan.video_id)}</h1>")
    add(f"<p>{_e(spec.prompt)}</p>")
    summary = {
        "duration": f"{plan.duration_s:g} s ({plan.total_frames} frames)",
        "size": f"{plan.width}x{plan.height} @ {fps} fps",
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
    add("<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in summary.items()) + "</table>")
    thumbs = {index: thumbnail_uri(image) for index, image in sorted(inputs.storyboard.items())}
    if "final.mp4" in files:
        poster = f' poster="{next(iter(thumbs.values()))}"' if thumbs else ""
        add(f'<p><a href="final.mp4">final.mp4</a></p><video controls preload=none{poster} src="final.mp4"></video>')

    add("<h2>Storyboard</h2><div>")
    for beat in plan.beats:
        rel = layout.storyboard_image(beat.index)
        caption = f"{beat.index}: {beat.name} · {seconds(beat.start_frame, fps)}-{seconds(beat.end_frame, fps)}"
        caption += f" · {beat.camera}" + (f" · “{beat.text}”" if beat.text else "")
        if beat.uses:
            caption += f" · uses {', '.join(beat.uses)}"
        picture = (
            f'<a href="{_e(rel)}"><img alt="storyboard {_e(beat.name)}" src="{thumbs[beat.index]}"></a>'
            if beat.index in thumbs
            else "<p>no storyboard image yet</p>"
        )
        add(f"<figure>{picture}<figcaption>{_e(caption)}<br>{_e(beat.prompt)}</figcaption></figure>")
    add("</div>")
    if plan.references:
        parts.extend(_reference_section(plan, inputs))

    add("<h2>Timeline</h2>")
    add(f'<img alt="timeline of {_e(plan.video_id)}" src="{_data_uri(timeline_png(plan), "image/png")}">')
    add("<table><tr><th>pair</th><th>beat</th><th>start</th><th>end</th><th>chunks</th><th>transition out</th>"
        "<th>text</th></tr>")  # fmt: skip
    for beat in plan.beats:
        chunks = " + ".join(f"{c.kind} {c.frames}f" for c in beat.chunks)
        out = f"{beat.transition} {seconds(beat.transition_frames, fps)}" if beat.transition_frames else "cut"
        add(
            f"<tr><td>{beat.pair_key}</td><td>{_e(beat.name)}</td><td>{seconds(beat.start_frame, fps)}</td>"
            f"<td>{seconds(beat.end_frame, fps)}</td><td>{_e(chunks)}</td><td>{_e(out)}</td>"
            f"<td>{_e(beat.text or '')}</td></tr>"
        )
    add("</table>")

    add("<h2>Stages</h2><table><tr><th>stage</th><th>cost</th><th>models</th><th>cache</th><th>wall time</th>"
        "<th>manifest</th></tr>")  # fmt: skip
    parts.extend(_stage_rows(plan, manifests, timings or {}))
    add("</table>")
    by_stage = final.get("cost_by_stage") if final else None
    if isinstance(by_stage, dict):
        rows = "".join(f"<tr><td>{_e(k)}</td><td class=num>{_money(v)}</td></tr>" for k, v in sorted(by_stage.items()))
        add(f"<table><tr><th>cost by stage</th><th>usd</th></tr>{rows}"
            f"<tr><th>total</th><th class=num>{_money(final.get('cost_usd', 0))}</th></tr></table>")  # fmt: skip

    if inputs.takes:
        parts.extend(_takes_section(inputs))

    add("<h2>Checks</h2>")
    if checks:
        add("<table><tr><th>check</th><th>result</th><th>detail</th></tr>")
        for check in checks:
            verdict = '<span class="pass">passed</span>' if check.passed else '<span class="fail">FAILED</span>'
            add(f"<tr><td>{_e(check.name)}</td><td>{verdict}</td><td>{_e(check.detail)}</td></tr>")
        add("</table>")
    else:
        add("<p>No check results were given to this report; see the asset checks in the Dagster UI.</p>")

    add("<h2>Warnings</h2>")
    add("<ul>" + "".join(f"<li>{_e(w)}</li>" for w in plan.warnings) + "</ul>" if plan.warnings else "<p>none</p>")

    add("<h2>Artifacts</h2><ul>")
    parts.extend(f'<li><a href="{_e(f)}">{_e(f)}</a></li>' for f in files)
    add("</ul></body></html>\n")
    return "\n".join(parts)


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
