"""Blocking checks: what a user would verify by hand, verified on the real files every run."""

import dagster as dg

from vidgen_assets import report
from vidgen_assets.core.plan import Plan
from vidgen_assets.defs.assets import final_video, stitched_video, storyboard
from vidgen_assets.defs.partitions import videos
from vidgen_assets.defs.resources import VidgenParam
from vidgen_assets.media import probe
from vidgen_assets.storage.artifacts import Artifacts

PLAN_IN = {"video_spec": dg.AssetIn("video_spec")}


@dg.asset_check(asset=storyboard, blocking=True, additional_ins=PLAN_IN, partitions_def=videos)
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
        passed=count == len(video_spec.beats) and sizes <= {expected},
        metadata={
            "images": count,
            "beats": len(video_spec.beats),
            "sizes": str(sorted(sizes)),
            "expected_size": str(expected),
        },
    )


@dg.asset_check(asset=stitched_video, blocking=True, additional_ins=PLAN_IN, partitions_def=videos)
def stitched_matches_plan(stitched_video: Artifacts, video_spec: Plan) -> dg.AssetCheckResult:
    """Every planned chunk went into the stitched video and its length is the plan's, to the frame."""
    info = probe.probe(stitched_video.path("stitched.mp4"))
    chunks = int(stitched_video.record["chunks"])
    return dg.AssetCheckResult(
        passed=chunks == len(video_spec.chunks) and info.frames == video_spec.total_frames,
        metadata={
            "chunks": chunks,
            "expected_chunks": len(video_spec.chunks),
            "frames": info.frames,
            "expected_frames": video_spec.total_frames,
        },
    )


@dg.asset_check(asset=final_video, blocking=True, additional_ins=PLAN_IN, partitions_def=videos)
def final_matches_spec(
    context: dg.AssetCheckExecutionContext, vidgen: VidgenParam, final_video: Artifacts, video_spec: Plan
) -> dg.AssetCheckResult:
    """Duration is the spec's within one frame; size and fps are the spec's; audio is there iff music or a
    voiceover is on.
    Then writes `report.html` beside the final video (storyboard, timeline, timings, costs, checks)."""
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
    store = vidgen.store()
    result = report.CheckResult("final_matches_spec", not failed, "failed: " + (", ".join(failed) or "none"))
    try:
        report_line: dg.MetadataValue = dg.MetadataValue.path(
            store.uri(report.publish(context.instance, store, video_spec, [result]))
        )
    except Exception as exc:  # the report is a preview: it never fails the check, let alone the render
        context.log.warning(f"report.html could not be written: {type(exc).__name__}: {exc}")
        report_line = dg.MetadataValue.text(f"not written: {type(exc).__name__}: {exc}")
    return dg.AssetCheckResult(
        passed=not failed,
        metadata={
            "report": report_line,
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


ALL_CHECKS = [storyboard_image_per_beat, stitched_matches_plan, final_matches_spec]
