"""Quality checks on a generated clip, measured with ffmpeg's own detectors (the decisions are `core.qc`).

`check_clip` measures a chunk or a bridge in one decode (`commands.clip_analysis`: `signalstats`,
`blackframe`, `freezedetect`, `scdet`, each frame's findings printed to a file by `metadata=print` and
read back here), compares its first frame, and a bridge's last, with the picture it must be
(`commands.frame_match`: ffmpeg's `psnr` on both shrunk to `core.qc.MATCH_WIDTH` pixels wide), and returns
every check's result. Nothing here is wired into the pipeline yet: a library for the takes to come.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from vidgen_assets.core import qc
from vidgen_assets.core.qc import CheckResult, ClipKind, ClipMeasures, FrameStats
from vidgen_assets.media import commands
from vidgen_assets.media.probe import probe
from vidgen_assets.media.runner import MediaError, run

_PSNR = re.compile(r"PSNR .*average:(?P<db>[0-9.]+|inf)")
INF_PSNR_DB = 99.0
"""What an exact match (ffmpeg's `inf`) is recorded as."""


def _frames_metadata(text: str) -> list[dict[str, str]]:
    """`metadata=print`'s file: a `frame:N pts:... pts_time:...` line per frame, then its `key=value`s."""
    frames: list[dict[str, str]] = []
    for line in text.splitlines():
        if line.startswith("frame:"):
            frames.append({"pts_time": line.rsplit("pts_time:", 1)[-1].strip()})
        elif "=" in line and frames:
            key, value = line.strip().split("=", 1)
            frames[-1][key] = value
    return frames


def _freezes(frames: list[dict[str, str]], fps: float) -> tuple[tuple[int, int], ...]:
    """The frozen stretches `freezedetect` reported, as (first frame, end frame); one still running at the
    end of the clip ends with it (`freezedetect` reports no end there)."""
    found: list[tuple[int, int]] = []
    start: int | None = None
    for meta in frames:
        if "lavfi.freezedetect.freeze_start" in meta:
            start = round(float(meta["lavfi.freezedetect.freeze_start"]) * fps)
        if "lavfi.freezedetect.freeze_end" in meta and start is not None:
            found.append((start, round(float(meta["lavfi.freezedetect.freeze_end"]) * fps)))
            start = None
    if start is not None:
        found.append((start, len(frames)))
    return tuple(found)


def measure(clip: Path, fps: float) -> ClipMeasures:
    """Every frame of `clip` through the detectors (one ffmpeg decode); no picture comparisons."""
    with tempfile.TemporaryDirectory(prefix="vidgen-qc-") as tmp:
        metadata_file = Path(tmp) / "frames.txt"
        args = commands.clip_analysis(
            clip, metadata_file, qc.BLACK_PIXEL_LUMA, qc.FREEZE_NOISE_DB, qc.FREEZE_MIN_S, qc.CUT_SCORE
        )
        log = run(args)
        frames = _frames_metadata(metadata_file.read_text() if metadata_file.exists() else "")
    if not frames:
        raise MediaError(f"ffmpeg's detectors saw no frames in {clip}", args, log)
    try:
        stats = tuple(
            FrameStats(
                luma_mean=float(meta["lavfi.signalstats.YAVG"]),
                luma_min=int(meta["lavfi.signalstats.YMIN"]),
                luma_max=int(meta["lavfi.signalstats.YMAX"]),
                luma_diff=float(meta["lavfi.signalstats.YDIF"]) if n else 0.0,
                black_share=float(meta.get("lavfi.blackframe.pblack", "0")) / 100,
                cut_score=float(meta.get("lavfi.scd.score", "0")),
            )
            for n, meta in enumerate(frames)
        )
    except (KeyError, ValueError) as exc:
        raise MediaError(f"ffmpeg's detectors left a frame of {clip} unmeasured: {exc}", args, log) from exc
    return ClipMeasures(fps=fps, frames=stats, freezes=_freezes(frames, fps))


def match_psnr(clip: Path, frame: int, picture: Path, width: int, height: int) -> float:
    """PSNR (dB) of frame `frame` of `clip` against `picture`, both at `MATCH_WIDTH` pixels wide (the
    clip's `width` x `height` sets the height); an exact match is `INF_PSNR_DB`."""
    small = (qc.MATCH_WIDTH, max(2, round(qc.MATCH_WIDTH * height / width / 2) * 2))
    args = commands.frame_match(clip, picture, frame, *small)
    log = run(args)
    found = _PSNR.search(log)
    if found is None:
        raise MediaError(f"ffmpeg printed no PSNR for frame {frame} of {clip} against {picture}", args, log)
    return INF_PSNR_DB if found["db"] == "inf" else float(found["db"])


def check_clip(
    clip: Path,
    kind: ClipKind,
    expected_first: Path | None,
    expected_last: Path | None,
    fps: float,
    moves: bool = True,
) -> list[CheckResult]:
    """Every check of `clip` (a chunk of `kind` reference or continuous, or a bridge) at `fps`.

    `expected_first`: the picture its first frame must be (a reference-image chunk's storyboard image, a
    continuous chunk's previous last frame, a bridge's outgoing frame); `expected_last`: the picture its
    last frame must be (a bridge's incoming storyboard image). None skips that comparison. `moves`: see
    `core.qc.evaluate`."""
    measures = measure(clip, fps)
    start = end = None
    if expected_first is not None or expected_last is not None:
        info = probe(clip)
        if expected_first is not None:
            start = match_psnr(clip, 0, expected_first, info.width, info.height)
        if expected_last is not None:
            end = match_psnr(clip, len(measures.frames) - 1, expected_last, info.width, info.height)
    measured = ClipMeasures(measures.fps, measures.frames, measures.freezes, start, end)
    return qc.evaluate(measured, kind, moves)
