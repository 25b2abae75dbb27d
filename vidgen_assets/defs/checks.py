"""Checks: what a user would verify by hand, verified on the real files every run.

Each is declared on its asset (`check_specs`) and evaluated in the asset's own step, right after the
output is stored: no step (and, under a multiprocess executor, no process) of its own. A failed blocking
check stops the run before anything downstream of the asset is made. The clip checks (`CLIPS_CHECK`,
`BRIDGES_CHECK`) are not blocking: a clip that failed was already re-taken as far as `qc` allowed, and
the best take is used; the check shows what each clip measured, and fails (as a warning) when a clip in
use still fails a blocking check of `core.qc`."""

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

from vidgen_assets.core import qc
from vidgen_assets.core.loudness import TOLERANCE_LU, Loudness, problems
from vidgen_assets.core.plan import Plan
from vidgen_assets.defs.partitions import videos
from vidgen_assets.media import probe
from vidgen_assets.storage.artifacts import Artifacts

STORYBOARD_CHECK = "storyboard_image_per_beat"
STITCHED_CHECK = "stitched_matches_plan"
FINAL_CHECK = "final_matches_spec"
LOUDNESS_CHECK = "final_loudness_on_target"
SAFE_AREA_CHECK = "final_text_in_safe_area"
CLIPS_CHECK = "chunks_pass_qc"
BRIDGES_CHECK = "bridges_pass_qc"
FINAL_QC_CHECK = "final_picture_and_sound_qc"
NOT_BLOCKING = frozenset({CLIPS_CHECK, BRIDGES_CHECK, FINAL_QC_CHECK})
"""Checks that show a failure without failing the run: the clip checks (a failing take was re-taken as far
as `qc.retakes` and the budget allowed, and the best take is kept with a warning) and the final video's
measured picture and sound (what they find comes from the takes kept; the video is made and its faults
named, not thrown away after it was paid for)."""
CHECK_DESCRIPTIONS = {
    STORYBOARD_CHECK: "Exactly one storyboard image per beat, each at the video's size.",
    STITCHED_CHECK: "Every planned chunk went into the stitched video and its length is the plan's, to the frame.",
    FINAL_CHECK: (
        "Duration is the spec's within one frame; size and fps are the spec's; yuv420p; audio is there iff "
        "music or a voiceover is on."
    ),
    LOUDNESS_CHECK: (
        f"The delivered audio's integrated loudness is the spec's `audio.loudness` within {TOLERANCE_LU:g} LU and "
        "its true peak at or under `audio.true_peak` (ITU-R BS.1770, measured on final.mp4); a silent video passes."
    ),
    SAFE_AREA_CHECK: (
        "With `subtitles.safe_area`, every on-screen text and burnt caption is drawn inside the platform's "
        "safe area (measured on the rendered text and on final.mp4's frames); passes when no safe area is set."
    ),
    CLIPS_CHECK: (
        "Every chunk's take in use passes its blocking checks (it moves, is not black or flashing, starts on "
        "the picture it must, and the judge's score when there is one); a failing take was re-taken with a new "
        "seed within `qc.retakes` and the budget. Fails as a warning when the best take still fails; the "
        "non-blocking checks (a cut inside a clip) are listed."
    ),
    BRIDGES_CHECK: (
        "Every bridge's take in use passes its blocking checks (moves, not black or flashing, starts on the "
        "outgoing frame and lands on the incoming storyboard image); passes when the video has no bridge."
    ),
    FINAL_QC_CHECK: (
        "final.mp4 measured frame by frame (ffmpeg's signalstats, blackframe, freezedetect): the plan's frames "
        "exactly, audio as long as the picture to a frame, no black or blank stretch over "
        f"{qc.FINAL_BLACK_MAX_S:g} s outside fadeblack/fadewhite transitions, no more than "
        f"{qc.FLASH_MAX_PER_SECOND} flashes in any second (severity ERROR); no frozen stretch over "
        f"{qc.FINAL_FROZEN_MAX_S:g} s outside static beats (WARN). Shown, never failing the run: the faults "
        "come from takes kept when no retake passed. Off with `qc: false`."
    ),
}
CHECK_ASSETS = {
    STORYBOARD_CHECK: "storyboard",
    STITCHED_CHECK: "stitched_video",
    FINAL_CHECK: "final_video",
    LOUDNESS_CHECK: "final_video",
    SAFE_AREA_CHECK: "final_video",
    CLIPS_CHECK: "chunk_pairs",
    BRIDGES_CHECK: "stitched_video",
    FINAL_QC_CHECK: "final_video",
}


def spec_for(name: str) -> dg.AssetCheckSpec:
    """The blocking check `name`, declared on its asset, partitioned as it is (each result is recorded for
    its video: the UI shows it on the partition, and `report.check_results` finds it there)."""
    return dg.AssetCheckSpec(
        name, asset=CHECK_ASSETS[name], blocking=name not in NOT_BLOCKING, description=CHECK_DESCRIPTIONS[name],
        partitions_def=videos,
    )  # fmt: skip


ALL_CHECK_KEYS = [dg.AssetCheckKey(dg.AssetKey(asset), name) for name, asset in CHECK_ASSETS.items()]


def storyboard_image_per_beat(storyboard: Artifacts, video_spec: Plan) -> dg.AssetCheckResult:
    """Exactly one storyboard image per beat, each at the video's size."""
    from PIL import Image

    sizes = set()
    for path in storyboard.files.values():
        if path is not None:
            with Image.open(path) as image:
                sizes.add(image.size)
    expected = (video_spec.width, video_spec.height)
    count = len(storyboard.files)
    return dg.AssetCheckResult(
        check_name=STORYBOARD_CHECK,
        passed=count == len(video_spec.beats) and sizes <= {expected},
        metadata={
            "images": count,
            "beats": len(video_spec.beats),
            "sizes": str(sorted(sizes)),
            "expected_size": str(expected),
        },
    )


def stitched_matches_plan(stitched_video: Artifacts, video_spec: Plan) -> dg.AssetCheckResult:
    """Every planned chunk went into the stitched video and its length is the plan's, to the frame."""
    info = probe.probe(stitched_video.path("stitched.mp4"))
    chunks = int(stitched_video.record["chunks"])
    return dg.AssetCheckResult(
        check_name=STITCHED_CHECK,
        passed=chunks == len(video_spec.chunks) and info.frames == video_spec.total_frames,
        metadata={
            "chunks": chunks,
            "expected_chunks": len(video_spec.chunks),
            "frames": info.frames,
            "expected_frames": video_spec.total_frames,
        },
    )


def final_matches_spec(final_video: Artifacts, video_spec: Plan) -> dg.AssetCheckResult:
    """Duration is the spec's within one frame; size and fps are the spec's; audio is there iff music or a
    voiceover is on."""
    info = probe.probe(final_video.path("final.mp4"))
    spec = video_spec.spec
    music_on = spec.music is not None or (spec.voice is not None and bool(video_spec.voice_lines))
    frame_s = 1 / video_spec.fps
    checks = {
        "duration": abs(info.duration_s - video_spec.spec.duration) <= frame_s + 1e-6,
        "frames": abs(info.frames - video_spec.total_frames) <= 1,
        "size": (info.width, info.height) == (video_spec.width, video_spec.height),
        "fps": info.fps == video_spec.fps,
        "audio": info.has_audio == music_on,
        "pixel_format": info.pix_fmt == "yuv420p",
    }
    failed = [name for name, ok in checks.items() if not ok]
    return dg.AssetCheckResult(
        check_name=FINAL_CHECK,
        passed=not failed,
        metadata={
            "failed": ", ".join(failed) or "none",
            "duration_s": info.duration_s,
            "expected_duration_s": float(video_spec.spec.duration),
            "frames": info.frames,
            "size": f"{info.width}x{info.height}",
            "fps": float(info.fps),
            "audio": info.has_audio,
            "music_on": music_on,
        },
    )


def final_loudness_on_target(final_video: Artifacts, video_spec: Plan) -> dg.AssetCheckResult:
    """The delivered audio is on the spec's loudness target: integrated loudness within the tolerance,
    true peak at or under the ceiling (measured on final.mp4 by `stages.final_video`)."""
    target = video_spec.spec.audio
    measured = final_video.record.get("loudness")
    base = {"target_lufs": target.loudness, "ceiling_dbtp": target.true_peak}
    if not measured or measured.get("integrated_lufs") is None:
        why = "no audio stream" if not measured else "silent: nothing above the absolute gate"
        return dg.AssetCheckResult(check_name=LOUDNESS_CHECK, passed=True, metadata={**base, "audio": why})
    delivered = Loudness(
        float(measured["integrated_lufs"]), float(measured["range_lu"] or 0.0), float(measured["true_peak_dbtp"])
    )
    found = problems(delivered, target.loudness, target.true_peak)
    return dg.AssetCheckResult(
        check_name=LOUDNESS_CHECK,
        passed=not found,
        metadata={
            **base,
            "integrated_lufs": delivered.integrated_lufs,
            "loudness_range_lu": delivered.range_lu,
            "true_peak_dbtp": delivered.true_peak_dbtp,
            "problems": "; ".join(found) or "none",
        },
    )


def final_text_in_safe_area(final_video: Artifacts, video_spec: Plan) -> dg.AssetCheckResult:
    """Every on-screen text and burnt caption inside the spec's safe area (`stages.safe_area_boxes`)."""
    found = final_video.record.get("safe_area")
    if not found:
        area = video_spec.spec.subtitles.safe_area
        return dg.AssetCheckResult(check_name=SAFE_AREA_CHECK, passed=True, metadata={"safe_area": area})
    outside = [b["what"] for b in found["boxes"] if not b["inside"]]
    return dg.AssetCheckResult(
        check_name=SAFE_AREA_CHECK,
        passed=not outside,
        metadata={
            "safe_area": found["area"],
            "inner_box": str(found["inner"]),
            "drawn": dg.MetadataValue.json(found["boxes"]),
            "outside": "; ".join(outside) or "none",
        },
    )


def _measured(checks: Sequence[Mapping[str, Any]]) -> str:
    """A clip's checks in one cell: `still 2.31>0.1`, a failed one marked `FAILED`."""
    out = []
    for c in checks:
        mark = "" if c["passed"] else (" FAILED" if c["severity"] == "blocking" else " warning")
        out.append(f"{c['check']} {c['value']:g} (limit {c['threshold']:g}){mark}")
    return "; ".join(out) or "not checked"


def clips_pass_qc(name: str, clips: Sequence[Mapping[str, Any]], strip: str) -> dg.AssetCheckResult:
    """The clip check `name` over `clips` (the records of each clip's take in use: `stages.common._take_record`),
    with `strip` (markdown: each clip's takes side by side) in its metadata."""
    failing = [c for c in clips if c.get("failed")]
    warned = [c for c in clips if c.get("warnings")]
    rows = ["| clip | take used | takes | verdict | measured |", "|---|---|---|---|---|"]
    for c in clips:
        verdict = "FAILED " + ", ".join(c["failed"]) if c.get("failed") else "passed"
        if c.get("score") is not None:
            verdict += f" (judge {float(c['score']):.2f})"
        measured = _measured(c.get("checks") or [])
        rows.append(f"| {c['clip']} | {c['take']} | {len(c.get('takes') or [1])} | {verdict} | {measured} |")
    return dg.AssetCheckResult(
        check_name=name,
        passed=not failing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "clips": len(clips),
            "retakes": sum(int(c.get("retakes") or 0) for c in clips),
            "failing": ", ".join(f"{c['clip']} ({', '.join(c['failed'])})" for c in failing) or "none",
            "warnings": ", ".join(f"{c['clip']} ({', '.join(c['warnings'])})" for c in warned) or "none",
            "checks": dg.MetadataValue.md("\n".join(rows)),
            "takes": dg.MetadataValue.md(strip),
        },
    )


def final_picture_and_sound_qc(results: Sequence[qc.CheckResult] | None) -> dg.AssetCheckResult:
    """The final video's measured checks (`media.qc.check_final`, decided by `core.qc.evaluate_final`) as
    one asset check: each check's measured value, threshold, severity and verdict in the metadata. A
    failed blocking check fails it with severity ERROR; failed warnings alone fail it with WARN. None:
    `qc: false`, nothing measured."""
    if results is None:
        return dg.AssetCheckResult(check_name=FINAL_QC_CHECK, passed=True, metadata={"qc": "off (qc: false)"})
    blocking = [r for r in results if r.blocks]
    warned = [r for r in results if not r.passed and not r.blocks]
    metadata: dict[str, Any] = {}
    for r in results:
        metadata[r.name] = r.value
        metadata[f"{r.name}_threshold"] = r.threshold
    metadata["checks"] = dg.MetadataValue.json([r.as_record() for r in results])
    metadata["blocking_failures"] = "; ".join(f"{r.name}: {r.detail}" for r in blocking) or "none"
    metadata["warnings"] = "; ".join(f"{r.name}: {r.detail}" for r in warned) or "none"
    severity = dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        check_name=FINAL_QC_CHECK, passed=not (blocking or warned), severity=severity, metadata=metadata
    )
