"""Quality checks on a generated clip, the decisions: thresholds, severities, one result type.

A clip (a chunk or a bridge) is measured by `media.qc` (ffmpeg's own detectors: `signalstats`,
`blackframe`, `freezedetect`, `scdet`, and `psnr` against the picture the clip must start or end on);
this module turns those measurements into checks, each with the measured value, its threshold, whether it
passed and a severity:

- **blocking**: the clip is unusable; once takes are wired, it is what makes a retake;
- **warning**: worth a look, not worth a re-make (a detector that also fires on legitimate footage).

The checks (`CHECKS` names them, with their severity):

- `still` (blocking): the clip moves at all: the mean frame-to-frame luma difference (`signalstats`
  YDIF, 8-bit levels) is above `STILL_MAX_YDIF`;
- `frozen` (blocking): its longest frozen stretch (`freezedetect` at `FREEZE_NOISE_DB`, stretches of at
  least `FREEZE_MIN_S`) is at most `FROZEN_MAX_SHARE` of the clip;
- `black` (blocking): at most `BLACK_MAX_SHARE` of its frames are black (`blackframe`: at least
  `BLACK_PIXEL_SHARE` of the pixels under luma `BLACK_PIXEL_LUMA`) or blank (one flat level: the
  luma spread `YMAX - YMIN` at most `BLANK_MAX_RANGE`);
- `flashes` (blocking): at most `FLASH_MAX_PER_SECOND` flashes in any one second (`count_flashes`);
- `start` (blocking): the first frame is the picture the clip must start on (a reference-image chunk:
  its storyboard image; a continuous chunk: the previous chunk's last frame; a bridge: the outgoing
  frame), PSNR at least `MATCH_MIN_PSNR_DB` at `MATCH_WIDTH` pixels wide;
- `end` (blocking, bridges): the last frame is the incoming storyboard image, the same measure;
- `cut` (warning): no scene cut inside the clip: `scdet`'s score stays under `CUT_SCORE`;
- `reference` (warning, a chunk of a beat that uses reference images): each of them is found in the
  clip with a match of at least `REFERENCE_MIN_MATCH` (`media.qc.reference_match`).

The final video has checks of its own (`evaluate_final`, measured by `media.qc.check_final`):

- `duration` (blocking): it has exactly the plan's frames;
- `av_length` (blocking): its audio lasts as long as its picture, to a frame (`AV_MAX_FRAMES`);
- `black_stretch` (blocking): no black or blank stretch longer than `FINAL_BLACK_MAX_S`, outside the
  transitions that pass through black or white by design (`fadeblack`, `fadewhite`);
- `frozen_stretch` (warning): no frozen stretch longer than `FINAL_FROZEN_MAX_S`, outside the beats
  whose camera is `static` (a held picture by design);
- `flashes` (blocking): at most `FLASH_MAX_PER_SECOND` flashes in any one second, as for a clip.

Everything is plain Python: no ffmpeg, no numpy; `media.qc` measures, this decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from vidgen_assets.core.plan import Plan

Severity = Literal["blocking", "warning"]
ClipKind = Literal["reference", "continuous", "bridge"]
CheckName = Literal[
    "still",
    "frozen",
    "black",
    "flashes",
    "start",
    "end",
    "cut",
    "reference",
    "duration",
    "av_length",
    "black_stretch",
    "frozen_stretch",
]

BLOCKING: Severity = "blocking"
WARNING: Severity = "warning"
CHECKS: dict[CheckName, Severity] = {
    "still": BLOCKING,
    "frozen": BLOCKING,
    "black": BLOCKING,
    "flashes": BLOCKING,
    "start": BLOCKING,
    "end": BLOCKING,
    "cut": WARNING,
    "reference": WARNING,
    "duration": BLOCKING,
    "av_length": BLOCKING,
    "black_stretch": BLOCKING,
    "frozen_stretch": WARNING,
}
"""Every check and its severity (`duration` .. `frozen_stretch`, and `flashes`: the final video's)."""

# --- motion ------------------------------------------------------------------------------------------
STILL_MAX_YDIF = 0.1
"""A clip whose mean frame-to-frame luma difference (mean absolute difference of 8-bit luma between
consecutive frames) is at or under this is a still. Measured: a held picture encoded at CRF 16 reads
0.00-0.02 (codec noise); the animatic's slowest move (a 3%/s zoom) 1.7; a model's slowest drift is far
above a tenth of a level."""
FREEZE_NOISE_DB = -60.0
"""`freezedetect`'s noise tolerance (its default, -60 dB: a mean difference of 0.1% of full scale, a
quarter of an 8-bit level): frames closer than this to the frame a freeze began on are frozen."""
FREEZE_MIN_S = 0.2
"""The shortest frozen stretch `freezedetect` reports (5 frames at 24 fps): a move that steps by whole
pixels can repeat a frame or two, which is not a freeze."""
FROZEN_MAX_SHARE = 0.25
"""The longest frozen stretch a clip may hold, as a share of its length (1.25 s of a 5 s chunk, 0.25 s
of a 1 s bridge): longer, and the shot visibly stops."""

# --- black, blank ------------------------------------------------------------------------------------
BLACK_PIXEL_LUMA = 32
"""`blackframe`'s pixel threshold: a pixel under this 8-bit luma (limited range, black is 16) is black."""
BLACK_PIXEL_SHARE = 0.98
"""A frame is black when at least this share of its pixels is (`blackframe`'s and `blackdetect`'s
default picture threshold)."""
BLANK_MAX_RANGE = 8
"""A frame is blank (one flat level of any colour: no picture) when its luma spread, brightest pixel
minus darkest, is at most this many 8-bit levels (4% of the 219-level range; codec noise on a flat frame
is 1-3)."""
BLACK_MAX_SHARE = 0.1
"""The share of a clip's frames that may be black or blank: a fade through black of half a second in a
5 s chunk, no more."""

# --- flashes (ITU-R BT.1702, Ofcom's guidance on photosensitive epilepsy) ------------------------------
FLASH_MAX_PER_SECOND = 3
"""The guideline: no more than three flashes in any one second."""
FLASH_DELTA = 0.1
"""A luminance change counts when it is at least 10% of the display's maximum luminance (Ofcom: 20 cd/m2
on a 200 cd/m2 screen)."""
FLASH_DARK_MAX = 0.8
"""... and the darker image of the pair is below 80% of the maximum (Ofcom: 160 cd/m2)."""
DISPLAY_GAMMA = 2.4
"""Luma to relative luminance: ITU-R BT.1886's display gamma on limited-range luma (16 black, 235
white)."""

# --- where a clip starts and ends --------------------------------------------------------------------
MATCH_WIDTH = 32
"""Both pictures are compared shrunk to this width (area average, in RGB): a frame of motion later the
same picture still matches, another picture does not."""
MATCH_MIN_PSNR_DB = 30.0
"""The PSNR (RGB, at `MATCH_WIDTH`) a first or last frame needs against the picture it must be.
Measured (ffmpeg's `psnr`): a continuous chunk against the previous chunk's last frame 42-57 dB on the
animatic's moves, 34 dB on a fast pan over fine, contrasty detail (2 px a frame at 640 px over blobs of
24 px: the hardest one-frame step tried), a bridge's two ends 44-47 dB; a different picture 13-22 dB, a
seam that jumps a second of that pan 13 dB. Not caught: a picture almost the same as the one it must be
(two animatic cards of one spec, same palette and layout, read 33-34 dB against each other)."""

# --- cuts --------------------------------------------------------------------------------------------
REFERENCE_MIN_MATCH = 0.8
"""How well each reference image the beat uses must be found in the clip: the best normalized
cross-correlation (`TM_CCOEFF_NORMED`, the reference's own alpha as the mask, colour, 320 px wide) of
the reference, at 17 sizes from 15% to 95% of the frame's height, anywhere in the clip's first, middle or
last frame (`media.qc.reference_match`). Template matching, not feature matching: the products teams
upload are often flat packshots and labels with too little texture for ORB keypoints (the example
bottle gives 0-4 RANSAC inliers where it is plainly in the shot), and correlation with the reference's
mask reads its shape and colours together. Measured on the bottle-reference animatic: 0.91-0.95 in the
beats that use the bottle, 0.71 in the beat that does not. Its limits: a product turned, relit, partly
hidden or restyled by a model scores lower although it is there, and a similar shape in similar colours
scores higher although it is not; so a warning, never a retake (a crude measure must not spend money):
shown with the take, for a person or the judge (`qc.judge: replicate`, which sees the references) to
decide."""
CUT_SCORE = 5.0
"""`scdet`'s score (0-100: the mean frame difference, as a percentage of full scale, beyond the frame
before's) at or above which a frame is a scene cut. Half `scdet`'s default of 10, which a hard cut
between two pictures of similar tones only just reaches (measured: 10.0 on the synthetic cut); the
animatic's moves and bridges and a 2 px-a-frame pan stay under 1.4. A warning, not blocking: a whip pan
or a sudden light can score as high."""


@dataclass(frozen=True)
class CheckResult:
    """One check of one clip: the measured `value`, the `threshold` it is held to, whether it `passed`,
    its `severity`, and a sentence saying what was measured."""

    name: CheckName
    severity: Severity
    value: float
    threshold: float
    passed: bool
    detail: str

    @property
    def blocks(self) -> bool:
        """A failed blocking check: the clip is unusable."""
        return not self.passed and self.severity == BLOCKING

    def as_record(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "check": self.name,
            "severity": self.severity,
            "value": round(self.value, 4),
            "threshold": self.threshold,
            "passed": self.passed,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class FrameStats:
    """What the detectors say about one frame."""

    luma_mean: float
    """Mean 8-bit luma (`signalstats` YAVG, limited range)."""
    luma_min: int
    luma_max: int
    luma_diff: float
    """Mean absolute luma difference from the frame before (`signalstats` YDIF; 0 on the first)."""
    black_share: float
    """Share of pixels under `BLACK_PIXEL_LUMA` (`blackframe`'s pblack / 100)."""
    cut_score: float
    """`scdet`'s scene-change score (0-100) against the frame before."""


@dataclass(frozen=True)
class ClipMeasures:
    """A clip as the detectors measured it: one `FrameStats` per frame, `freezes` as (first frame, end
    frame) of each frozen stretch `freezedetect` reported (end exclusive), and the PSNR of its first and
    last frames against the pictures they must be (None: not compared)."""

    fps: float
    frames: tuple[FrameStats, ...]
    freezes: tuple[tuple[int, int], ...]
    start_psnr_db: float | None = None
    end_psnr_db: float | None = None
    reference_match: tuple[tuple[str, float], ...] = ()
    """(reference name, how well it is found in the clip: `REFERENCE_MIN_MATCH`), one per reference the
    clip's beat uses; empty when it uses none."""

    def __post_init__(self) -> None:
        if not self.frames:
            raise ValueError("a clip with no frames cannot be checked")
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")


def relative_luminance(luma: float) -> float:
    """8-bit limited-range luma as a share of the display's maximum luminance (BT.1886, gamma 2.4)."""
    level = min(1.0, max(0.0, (luma - 16.0) / 219.0))
    return float(level**DISPLAY_GAMMA)


def luminance_changes(luminance: Sequence[float], delta: float = FLASH_DELTA) -> list[tuple[int, float, float]]:
    """The clip's luminance changes of at least `delta`: each as (the frame it ends on, the level it
    starts at, the level it ends at), alternating up and down. A change runs from one turning point of the
    series to the next; a wiggle smaller than `delta` does not turn it (a zigzag with hysteresis)."""
    if not luminance:
        return []
    changes: list[tuple[int, float, float]] = []
    low = high = (0, luminance[0])
    pivot: tuple[int, float] | None = None  # where the current change started
    extreme = (0, luminance[0])  # the furthest the current change has reached
    rising = False
    for i, value in enumerate(luminance):
        if pivot is None:
            low = min(low, (i, value), key=lambda p: p[1])
            high = max(high, (i, value), key=lambda p: p[1])
            if value - low[1] >= delta:
                pivot, extreme, rising = low, (i, value), True
            elif high[1] - value >= delta:
                pivot, extreme, rising = high, (i, value), False
            continue
        if (value > extreme[1]) if rising else (value < extreme[1]):
            extreme = (i, value)
        elif abs(extreme[1] - value) >= delta:
            changes.append((extreme[0], pivot[1], extreme[1]))
            pivot, extreme, rising = extreme, (i, value), not rising
    if pivot is not None:
        changes.append((extreme[0], pivot[1], extreme[1]))
    return changes


def count_flashes(luminance: Sequence[float], fps: float) -> int:
    """The most flashes in any one second of a relative-luminance series (one value per frame).

    As the guideline defines it, a flash is a pair of opposing changes in luminance of at least
    `FLASH_DELTA` of the maximum where the darker image is below `FLASH_DARK_MAX` of it. Each change whose
    darker end is below `FLASH_DARK_MAX` is half a flash; the flashes in a second are the whole pairs
    among the changes that end in it. Simplification: the guideline counts a flash over any area of a
    quarter of the screen or more, this one over the whole frame's mean luminance (luma averaged, then
    linearised), so a flash on part of the frame reads weaker than it is; it also leaves out the
    guideline's separate rule for saturated red."""
    counted = [end for end, start, stop in luminance_changes(luminance) if min(start, stop) < FLASH_DARK_MAX]
    window = max(1, round(fps))
    most = 0
    for first, end in enumerate(counted):
        in_second = sum(1 for later in counted[first:] if later < end + window)
        most = max(most, in_second // 2)
    return most


def longest_freeze(freezes: Sequence[tuple[int, int]]) -> int:
    """The most frames of one frozen stretch."""
    return max((end - start for start, end in freezes), default=0)


def _result(name: CheckName, value: float, threshold: float, passed: bool, detail: str) -> CheckResult:
    return CheckResult(name, CHECKS[name], value, threshold, passed, detail)


def evaluate(measures: ClipMeasures, kind: ClipKind, moves: bool = True) -> list[CheckResult]:
    """Every check that applies to a clip of `kind` with these `measures`, in `CHECKS` order.

    `moves`: the clip is meant to move (False for a clip that holds one picture by design, such as the
    animatic's static camera, whose `still` and `frozen` checks are then left out). `start` is checked
    when `start_psnr_db` was measured, `end` when `end_psnr_db` was (a bridge's end)."""
    frames = measures.frames
    count = len(frames)
    results: list[CheckResult] = []
    if moves:
        motion = sum(f.luma_diff for f in frames[1:]) / max(1, count - 1)
        detail = f"mean frame-to-frame luma difference {motion:.3f} levels"
        results.append(_result("still", motion, STILL_MAX_YDIF, motion > STILL_MAX_YDIF, detail))
        frozen = longest_freeze(measures.freezes)
        detail = f"longest frozen stretch {frozen} of {count} frames"
        results.append(_result("frozen", frozen / count, FROZEN_MAX_SHARE, frozen / count <= FROZEN_MAX_SHARE, detail))
    dark = sum(1 for f in frames if f.black_share >= BLACK_PIXEL_SHARE or f.luma_max - f.luma_min <= BLANK_MAX_RANGE)
    detail = f"{dark} of {count} frames black or blank"
    results.append(_result("black", dark / count, BLACK_MAX_SHARE, dark / count <= BLACK_MAX_SHARE, detail))
    flashes = count_flashes([relative_luminance(f.luma_mean) for f in frames], measures.fps)
    detail = f"at most {flashes} flashes in one second"
    results.append(_result("flashes", flashes, FLASH_MAX_PER_SECOND, flashes <= FLASH_MAX_PER_SECOND, detail))
    matches: tuple[tuple[CheckName, float | None, str], ...] = (
        ("start", measures.start_psnr_db, "first"),
        ("end", measures.end_psnr_db, "last"),
    )
    for name, psnr, which in matches:
        if psnr is not None:
            detail = f"{which} frame PSNR {psnr:.1f} dB against the picture it must be ({kind})"
            results.append(_result(name, psnr, MATCH_MIN_PSNR_DB, psnr >= MATCH_MIN_PSNR_DB, detail))
    at = max(range(count), key=lambda n: frames[n].cut_score if n else -1.0) if count > 1 else 0
    score = frames[at].cut_score if at else 0.0
    detail = f"largest scene-change score {score:.1f} (frame {at})"
    results.append(_result("cut", score, CUT_SCORE, score < CUT_SCORE, detail))
    if measures.reference_match:
        least, worst = min(measures.reference_match, key=lambda m: m[1])
        found = ", ".join(f"{n} {v:.2f}" for n, v in measures.reference_match)
        detail = f"reference images found with match {found} (the least: {least})"
        results.append(_result("reference", worst, REFERENCE_MIN_MATCH, worst >= REFERENCE_MIN_MATCH, detail))
    return results


def blocking_failures(results: Sequence[CheckResult]) -> list[CheckResult]:
    """The failed blocking checks: empty when the clip is usable (a retake's trigger, once wired)."""
    return [r for r in results if r.blocks]


# --- the final video ---------------------------------------------------------------------------------
AV_MAX_FRAMES = 1.0
"""The most the audio's length may differ from the picture's, in frames ("equal to a frame"): AAC
ends on a whole 1024-sample packet (21 ms at 48 kHz, half a frame at 24 fps), so the two are never
exactly equal, and more than a frame apart is a mix cut to the wrong length."""
FINAL_BLACK_MAX_S = 0.5
"""The longest stretch of black or blank frames (as `black` counts them) the final video may hold
outside its through-black (`fadeblack`) and through-white (`fadewhite`) transitions: half a second is
already a visible hole; vidgen's own titles are drawn over the picture, never on a black card, and its
fades and dissolves blend two pictures, so the animatic has none (measured on every example: 0 frames)."""
FINAL_FROZEN_MAX_S = 1.0
"""The longest frozen stretch (`freezedetect`, as for a clip) the final video may hold outside its
static beats: a second at 24 fps is a stop anyone sees. A warning, not blocking: every generated clip
has its blocking `frozen` check already, and a model's clip of a still product can hold a second
legitimately; a longer freeze in the final points at the assembly (a padded or repeated piece). The
animatic's slowest moves step every frame at the examples' lengths (measured: no frozen stretch of
`FREEZE_MIN_S` or more outside static beats)."""
FINAL_ANALYSIS_WIDTH = 320
"""The final video is measured shrunk to this width (area average): the black, blank and flash measures
are means and spreads of luma, which shrinking keeps, and a frozen stretch is one of identical frames at
any size, while a picture that moves by a pixel at full size still changes at this one (the animatic's
slowest examples step every frame: no frozen stretch). A third of the CPU time of a full-size pass
(measured on cold-brew-ad's 30 s 1024x576 final: 1.9 s against 6.2 s, decoding alone 0.9 s)."""
CLIP_ANALYSIS_WIDTH = FINAL_ANALYSIS_WIDTH
"""A generated clip is measured shrunk to the same width, for the same reasons (the `start` and `end`
comparisons are made at `MATCH_WIDTH` whatever this is): every chunk and bridge of a render is measured,
so this is a third of each clip's checking time (a 5 s 854x480 chunk: 0.22 s, not 0.66 s)."""
THROUGH_DARK = frozenset({"fadeblack", "fadewhite"})
"""The transitions that pass through a black or a white frame by design."""

FrameRange = tuple[int, int]
"""Frames [first, end) of the timeline."""


@dataclass(frozen=True)
class FinalAllowances:
    """Where the final video may be black or blank (`dark`) and frozen (`still`) by design."""

    dark: tuple[FrameRange, ...]
    still: tuple[FrameRange, ...]


NO_ALLOWANCES = FinalAllowances((), ())
"""Nothing black or frozen by design."""


def final_allowances(plan: Plan) -> FinalAllowances:
    """From the plan: the frames of each through-black or through-white transition (the first frames of
    the beat it leads into), and the frames of each beat whose camera is static."""
    dark = tuple(
        (nxt.start_frame, nxt.start_frame + beat.transition_frames)
        for beat, nxt in zip(plan.beats, plan.beats[1:], strict=False)
        if beat.transition in THROUGH_DARK and beat.transition_frames
    )
    still = tuple((b.start_frame, b.start_frame + b.frames) for b in plan.beats if b.camera == "static")
    return FinalAllowances(dark, still)


def longest_outside(flags: Sequence[bool], allowed: Sequence[FrameRange]) -> tuple[int, int]:
    """The longest run of True in `flags` counting only frames outside every range of `allowed`: (its
    length in frames, the frame it starts on)."""
    excused = [False] * len(flags)
    for first, end in allowed:
        for n in range(max(0, first), min(len(flags), end)):
            excused[n] = True
    best, best_at, run, run_at = 0, 0, 0, 0
    for n, flag in enumerate(flags):
        if flag and not excused[n]:
            if run == 0:
                run_at = n
            run += 1
            if run > best:
                best, best_at = run, run_at
        else:
            run = 0
    return best, best_at


def _is_dark(frame: FrameStats) -> bool:
    return frame.black_share >= BLACK_PIXEL_SHARE or frame.luma_max - frame.luma_min <= BLANK_MAX_RANGE


def evaluate_final(
    measures: ClipMeasures,
    expected_frames: int,
    audio_s: float | None,
    allowances: FinalAllowances = NO_ALLOWANCES,
) -> list[CheckResult]:
    """The final video's checks (see the module's docstring), from its `measures` (every frame through
    the detectors), the plan's `expected_frames`, its audio's length (`audio_s`, None: no audio, which
    `av_length` then passes) and what the plan allows (`final_allowances`)."""
    frames, fps = measures.frames, measures.fps
    count = len(frames)
    results = [
        _result(
            "duration", count, expected_frames, count == expected_frames,
            f"{count} frames; the plan has {expected_frames}",
        )
    ]  # fmt: skip
    if audio_s is None:
        results.append(_result("av_length", 0.0, AV_MAX_FRAMES, True, "no audio stream"))
    else:
        apart = abs(audio_s - count / fps) * fps
        detail = f"audio {audio_s:.3f} s, picture {count / fps:.3f} s: {apart:.2f} frames apart"
        results.append(_result("av_length", apart, AV_MAX_FRAMES, apart <= AV_MAX_FRAMES, detail))
    dark, at = longest_outside([_is_dark(f) for f in frames], allowances.dark)
    detail = f"longest black or blank stretch {dark} frames ({dark / fps:.2f} s) from frame {at}"
    results.append(_result("black_stretch", dark / fps, FINAL_BLACK_MAX_S, dark / fps <= FINAL_BLACK_MAX_S, detail))
    frozen_flags = [False] * count
    for first, end in measures.freezes:
        for n in range(max(0, first), min(count, end)):
            frozen_flags[n] = True
    frozen, at = longest_outside(frozen_flags, allowances.still)
    detail = f"longest frozen stretch outside static beats {frozen} frames ({frozen / fps:.2f} s) from frame {at}"
    results.append(
        _result("frozen_stretch", frozen / fps, FINAL_FROZEN_MAX_S, frozen / fps <= FINAL_FROZEN_MAX_S, detail)
    )
    flashes = count_flashes([relative_luminance(f.luma_mean) for f in frames], fps)
    detail = f"at most {flashes} flashes in one second"
    results.append(_result("flashes", flashes, FLASH_MAX_PER_SECOND, flashes <= FLASH_MAX_PER_SECOND, detail))
    return results
