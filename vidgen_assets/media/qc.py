"""Quality checks on a generated clip, measured with ffmpeg's own detectors (the decisions are `core.qc`).

`check_clip` measures a chunk or a bridge in one decode (`commands.clip_analysis`: `signalstats`,
`blackframe`, `freezedetect`, `scdet`, each frame's findings printed to a file by `metadata=print` and
read back here); the same decode compares its first frame, and a bridge's last, with the picture it must
be (ffmpeg's `psnr` on both shrunk to `core.qc.MATCH_WIDTH` pixels wide, written to a stats file). It
returns every check's result. Nothing here is wired into the pipeline yet: a library for the takes to come.

`check_final` measures the final video with the same decode and detectors, and `core.qc.evaluate_final`
decides (its length against the plan's and its audio's, black, frozen and flashing stretches).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vidgen_assets.core import qc
from vidgen_assets.core.qc import CheckResult, ClipKind, ClipMeasures, FinalAllowances, FrameStats
from vidgen_assets.media import commands
from vidgen_assets.media.probe import probe, read_frames
from vidgen_assets.media.runner import MediaError, run

_PSNR_AVG = re.compile(r"psnr_avg:(?P<db>[0-9.]+|inf)")
INF_PSNR_DB = 99.0
"""What an exact match (ffmpeg's `inf`) is recorded as."""


def _frames_metadata(text: str) -> list[dict[str, str]]:
    """`metadata=print`'s file: a `frame:N pts:... pts_time:...` line per frame, then its `key=value`s
    (each frame's `pts_time` kept as a key of its own)."""
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
    end of the clip ends with it (`freezedetect` reports no end there). Its times are timestamps, counted
    here from the first frame's."""
    origin = float(frames[0]["pts_time"]) if frames else 0.0

    def frame_at(seconds: str) -> int:
        return round((float(seconds) - origin) * fps)

    found: list[tuple[int, int]] = []
    start: int | None = None
    for meta in frames:
        if "lavfi.freezedetect.freeze_start" in meta:
            start = frame_at(meta["lavfi.freezedetect.freeze_start"])
        if "lavfi.freezedetect.freeze_end" in meta and start is not None:
            found.append((start, frame_at(meta["lavfi.freezedetect.freeze_end"])))
            start = None
    if start is not None:
        found.append((start, len(frames)))
    return tuple(found)


def _match_size(width: int, height: int) -> tuple[int, int]:
    """A `width` x `height` frame shrunk to `MATCH_WIDTH` pixels wide (an even height, at least 2)."""
    return qc.MATCH_WIDTH, max(2, round(qc.MATCH_WIDTH * height / width / 2) * 2)


def _psnr(stats: str) -> float | None:
    """The PSNR of the one frame `psnr` compared (its stats file: `n:1 mse_avg:... psnr_avg:...`)."""
    found = _PSNR_AVG.search(stats)
    if found is None:
        return None
    return INF_PSNR_DB if found["db"] == "inf" else float(found["db"])


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def measure(
    clip: Path, fps: float, first: Path | None = None, last: Path | None = None, width: int | None = None
) -> ClipMeasures:
    """Every frame of `clip` through the detectors, and its first and last frames against the pictures
    `first` and `last` (None: not compared; two different files), in one ffmpeg decode. `width`: the
    detectors see the frames shrunk to this width (None: as they are)."""
    info = probe(clip)
    with tempfile.TemporaryDirectory(prefix="vidgen-qc-") as tmp:
        folder = Path(tmp)
        wanted = {"start": (0, first), "end": (info.frames - 1, last)}
        matches = {
            name: commands.FrameMatch(frame, picture, folder / f"{name}.psnr.txt")
            for name, (frame, picture) in wanted.items()
            if picture is not None
        }
        metadata = folder / "frames.txt"
        args = commands.clip_analysis(
            clip, metadata, qc.BLACK_PIXEL_LUMA, qc.FREEZE_NOISE_DB, qc.FREEZE_MIN_S, qc.CUT_SCORE,
            list(matches.values()), _match_size(info.width, info.height),
            width if width is not None and width < info.width else None,
        )  # fmt: skip
        log = run(args)
        frames = _frames_metadata(_read(metadata))
        psnr = {name: _psnr(_read(match.stats_file)) for name, match in matches.items()}
    if not frames:
        raise MediaError(f"ffmpeg's detectors saw no frames in {clip}", args, log)
    unmeasured = sorted(name for name, value in psnr.items() if value is None)
    if unmeasured:
        raise MediaError(f"ffmpeg compared no {' or '.join(unmeasured)} frame of {clip}", args, log)
    try:
        stats = tuple(
            FrameStats(
                luma_mean=float(meta["lavfi.signalstats.YAVG"]),
                luma_min=int(meta["lavfi.signalstats.YMIN"]),
                luma_max=int(meta["lavfi.signalstats.YMAX"]),
                luma_diff=float(meta["lavfi.signalstats.YDIF"]) if n else 0.0,
                black_share=float(meta["lavfi.blackframe.pblack"]) / 100,
                cut_score=float(meta["lavfi.scd.score"]) if n else 0.0,
            )
            for n, meta in enumerate(frames)
        )
    except (KeyError, ValueError) as exc:
        raise MediaError(f"ffmpeg's detectors left a frame of {clip} unmeasured: {exc}", args, log) from exc
    return ClipMeasures(fps, stats, _freezes(frames, fps), psnr.get("start"), psnr.get("end"))


def reference_match(clip: Path, references: Sequence[Path]) -> tuple[tuple[str, float], ...]:
    """How well each reference image is found in `clip` (`core.qc.REFERENCE_MIN_MATCH`): per reference
    (named by its file's stem), the best masked normalized cross-correlation over sizes and places in
    the clip's first, middle and last frames."""
    import cv2  # OpenCV: only when a clip's beat uses references

    if not references:
        return ()
    count = probe(clip).frames
    frames = [_shrunk(f, qc.CLIP_ANALYSIS_WIDTH) for f in read_frames(clip, sorted({0, count // 2, count - 1}))]
    out = []
    for path in references:
        picture, mask = _cut_out(path)
        best = -1.0
        for frame in frames:
            height, width = frame.shape[:2]
            for share in np.linspace(0.15, 0.95, 17):
                tall = max(8, round(height * share))
                wide = max(4, round(picture.shape[1] * tall / picture.shape[0]))
                if wide >= width or tall >= height:
                    continue
                size = (wide, tall)
                sized = cv2.resize(picture, size, interpolation=cv2.INTER_AREA).astype(np.float32)
                alpha = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
                if not alpha.any():
                    continue
                scores = cv2.matchTemplate(
                    frame.astype(np.float32), sized, cv2.TM_CCOEFF_NORMED, mask=cv2.merge([alpha] * 3)
                )
                best = max(best, float(np.nan_to_num(scores, nan=-1.0, posinf=-1.0, neginf=-1.0).max()))
        out.append((path.stem, round(best, 4)))
    return tuple(out)


def _shrunk(frame: npt.NDArray[np.uint8], width: int) -> npt.NDArray[np.uint8]:
    """An RGB frame shrunk to `width` (area average), or as it is when narrower."""
    from PIL import Image

    if frame.shape[1] <= width:
        return frame
    height = max(2, round(frame.shape[0] * width / frame.shape[1]))
    return np.asarray(Image.fromarray(frame).resize((width, height), Image.Resampling.BOX))


def _cut_out(path: Path) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    """A reference image cropped to what it shows (its alpha), as RGB, with its mask (1 where shown)."""
    from PIL import Image

    with Image.open(path) as opened:
        rgba = np.asarray(opened.convert("RGBA"))
    shown = rgba[:, :, 3] > 127
    if not shown.any():
        raise MediaError(f"reference image {path.name} shows nothing (fully transparent)", [], "")
    rows, cols = np.nonzero(shown)
    box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    return np.ascontiguousarray(rgba[box][:, :, :3]), shown[box].astype(np.float32)


def check_clip(
    clip: Path,
    kind: ClipKind,
    expected_first: Path | None,
    expected_last: Path | None,
    fps: float,
    moves: bool = True,
    references: Sequence[Path] = (),
) -> list[CheckResult]:
    """Every check of `clip` (a chunk of `kind` reference or continuous, or a bridge) at `fps`, from one
    ffmpeg decode.

    `expected_first`: the picture its first frame must be (a reference-image chunk's storyboard image, a
    continuous chunk's previous last frame, a bridge's outgoing frame); `expected_last`: the picture its
    last frame must be (a bridge's incoming storyboard image); two different files. None skips that
    comparison. `moves`: see `core.qc.evaluate`. The detectors see the frames shrunk to
    `core.qc.CLIP_ANALYSIS_WIDTH`. `references`: the reference images the clip's beat uses, each looked
    for in it (`reference_match`)."""
    measured = measure(clip, fps, expected_first, expected_last, qc.CLIP_ANALYSIS_WIDTH)
    if references:
        measured = replace(measured, reference_match=reference_match(clip, references))
    return qc.evaluate(measured, kind, moves)


def check_final(
    path: Path, fps: float, expected_frames: int, allowances: FinalAllowances = qc.NO_ALLOWANCES
) -> list[CheckResult]:
    """The final video's checks (`core.qc.evaluate_final`): every frame of `path` through the detectors
    (one decode, as for a clip, the frames shrunk to `core.qc.FINAL_ANALYSIS_WIDTH` first), its audio's
    length from the container; `expected_frames` the plan's,
    `allowances` where the plan is black or frozen by design (`core.qc.final_allowances`)."""
    info = probe(path)
    measures = measure(path, fps, width=qc.FINAL_ANALYSIS_WIDTH)
    return qc.evaluate_final(measures, expected_frames, info.audio_duration_s, allowances)
