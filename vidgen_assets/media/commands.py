"""ffmpeg commands built as data.

Every function here is pure: it returns the argument list that follows the ffmpeg executable (the
runner adds the executable, `-hide_banner`, `-y` and `-nostdin`). Tests assert these lists exactly.

Time is counted in integer frames at an integer `fps`; seconds appear only where ffmpeg wants them,
printed with six decimals by `seconds()` (and `xfade_offset()`, half a frame early, so that a
transition starts exactly on its `offset_frame` whatever the microsecond rounding of timestamps).
Filter graphs are strings assembled from the small helpers below (`chain`, `link`, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

# Intermediate chunks are encoded near-losslessly and fast: they are re-encoded later.
CHUNK_CRF = 16
CHUNK_PRESET = "veryfast"
# The stitched video is re-encoded once more (by `finalise`): keep it high quality.
STITCH_CRF = 18
STITCH_PRESET = "veryfast"
# The deliverable.
FINAL_CRF = 20
FINAL_PRESET = "fast"
AUDIO_BITRATE = "192k"
AUDIO_RATE = 48000
AUDIO_CHANNELS = 2

CUT = "cut"


@dataclass(frozen=True)
class Join:
    """How one beat flows into the next.

    `transition` is `"cut"` or an ffmpeg `xfade` transition name (fade, dissolve, wipeleft, ...);
    `frames` is its length (0 for a cut); `offset_frame` is the frame of the output timeline where the
    transition starts, which is also where the next beat starts.
    """

    transition: str
    frames: int
    offset_frame: int

    def __post_init__(self) -> None:
        if not self.transition or not self.transition.replace("_", "").isalnum():
            raise ValueError(f"invalid transition name {self.transition!r}")
        if self.frames < 0 or self.offset_frame < 0:
            raise ValueError(f"negative frames in {self!r}")
        if self.is_cut and self.frames != 0:
            raise ValueError(f"a cut has no length, got frames={self.frames}")
        if not self.is_cut and (self.frames == 0 or self.offset_frame == 0):
            raise ValueError(f"transition {self.transition!r} needs frames > 0 after frame 0, got {self!r}")

    @property
    def is_cut(self) -> bool:
        return self.transition == CUT


@dataclass(frozen=True)
class Overlay:
    """A full-frame RGBA PNG shown on frames `start_frame` .. `end_frame - 1` of the output."""

    png: Path
    start_frame: int
    end_frame: int

    def __post_init__(self) -> None:
        if not 0 <= self.start_frame < self.end_frame:
            raise ValueError(f"empty or negative frame range in {self!r}")


# --- small pure helpers -------------------------------------------------------------------------


def decimal(value: Fraction | float) -> str:
    """A non-negative number (of seconds, or a volume) with six decimals."""
    micro = round(Fraction(value) * 1_000_000)
    if micro < 0:
        raise ValueError(f"expected a non-negative number, got {value}")
    return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"


def seconds(frames: int, fps: int | Fraction) -> str:
    """`frames / fps` as a decimal string with six decimals (exact enough for any frame rate here)."""
    return decimal(Fraction(frames) / Fraction(fps))


def xfade_offset(offset_frame: int, fps: int) -> str:
    """The `xfade` offset that starts a transition on `offset_frame`: half a frame before it.

    xfade starts on the first frame whose timestamp reaches the offset, and timestamps that went through
    concat or an earlier xfade are off by a microsecond either way (1/24 s is not a whole number of
    microseconds), so an offset of exactly `offset_frame / fps` can start a frame late and add one.
    Half a frame of margin makes the frame count exact; it also centres the blend: a transition of T
    frames shows T mixes, from (T - 0.5) / T down to 0.5 / T of the outgoing clip.
    """
    return decimal(Fraction(2 * offset_frame - 1, 2 * fps))


def link(label: str) -> str:
    """A filter-graph pad label: `v0` -> `[v0]`."""
    return f"[{label}]"


def chain(inputs: Sequence[str], filters: Sequence[str], output: str) -> str:
    """One filter chain: `[in0][in1]f1,f2[out]`."""
    return "".join(link(i) for i in inputs) + ",".join(filters) + link(output)


def graph(chains: Sequence[str]) -> str:
    """Join chains into one `-filter_complex` string."""
    return ";".join(chains)


def cfr(fps: int) -> list[str]:
    """Constant frame rate, a common timebase and pixel format: what xfade and concat need."""
    return [f"fps={fps}", "settb=AVTB", "format=yuv420p"]


def cover(width: int, height: int) -> list[str]:
    """Scale to cover `width` x `height`, centre-crop to it, square pixels."""
    return [
        f"scale={width}:{height}:force_original_aspect_ratio=increase",
        f"crop={width}:{height}",
        "setsar=1",
    ]


def exact_frames(frames: int) -> list[str]:
    """Pad a short stream by cloning its last frame, then cut it to exactly `frames` frames."""
    return [f"tpad=stop_mode=clone:stop={frames}", f"trim=end_frame={frames}"]


def enable_frames(start_frame: int, end_frame: int) -> str:
    """A timeline `enable` option true exactly on frames `start_frame` .. `end_frame - 1`."""
    return f"enable='between(n,{start_frame},{end_frame - 1})'"


def h264(crf: int, preset: str, fps: int) -> list[str]:
    """H.264 yuv420p video at a constant `fps`."""
    return [
        "-c:v", "libx264",
        "-preset", preset,
        "-crf", str(crf),
        "-pix_fmt", "yuv420p",
        "-r", str(fps),
        "-fps_mode", "cfr",
    ]  # fmt: skip


def aac() -> list[str]:
    """The deliverable's audio: AAC, 48 kHz stereo."""
    return ["-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(AUDIO_RATE), "-ac", str(AUDIO_CHANNELS)]


def mp4(out: Path) -> list[str]:
    """Write an MP4 with the index (`moov`) first."""
    return ["-movflags", "+faststart", "-f", "mp4", str(out)]


# --- builders -----------------------------------------------------------------------------------


def encode_raw_frames(
    out: Path, width: int, height: int, fps: int, crf: int = CHUNK_CRF, preset: str = CHUNK_PRESET
) -> list[str]:
    """Encode rgb24 frames read from standard input into an H.264 MP4 at a constant `fps`."""
    return [
        "-f", "rawvideo",
        "-pix_fmt", "rgb24",
        "-s", f"{width}x{height}",
        "-framerate", str(fps),
        "-i", "pipe:0",
        "-an",
        "-c:v", "libx264",
        "-preset", preset,
        "-crf", str(crf),
        "-pix_fmt", "yuv420p",
        "-r", str(fps),
        "-fps_mode", "cfr",
        "-movflags", "+faststart",
        "-f", "mp4",
        str(out),
    ]  # fmt: skip


def normalise_chunk_filter(width: int, height: int, fps: int, frames: int, drop_first: bool) -> str:
    """The filter chain of `normalise_chunk` (from input 0 to `[v]`)."""
    drop = ["trim=start_frame=1", "setpts=PTS-STARTPTS"] if drop_first else []
    return chain(["0:v"], [*drop, *cover(width, height), *cfr(fps), *exact_frames(frames)], "v")


def normalise_chunk(
    src: Path, out: Path, width: int, height: int, fps: int, frames: int, drop_first: bool
) -> list[str]:
    """Any clip -> exactly `frames` frames of `width` x `height` at a constant `fps`, no audio.

    The clip is scaled to cover the frame and centre-cropped. With `drop_first`, the source's first
    frame is dropped (a continuous chunk starts on its source image, which ends the previous chunk).
    A short source is padded by repeating its last frame.
    """
    if frames <= 0:
        raise ValueError(f"frames must be positive, got {frames}")
    return [
        "-i", str(src),
        "-filter_complex", normalise_chunk_filter(width, height, fps, frames, drop_first),
        "-map", "[v]",
        "-an",
        *h264(CHUNK_CRF, CHUNK_PRESET, fps),
        "-frames:v", str(frames),
        *mp4(out),
    ]  # fmt: skip


def retime_chunk(src: Path, out: Path, width: int, height: int, fps: int, frames: int, src_frames: int) -> list[str]:
    """Any clip of `src_frames` frames -> exactly `frames` frames at `fps`, its whole motion kept: every
    source frame n is shown at time n * frames / (src_frames * fps), so a 6 s clip becomes a 1 s bridge
    that still starts on its first frame and ends on its last. No audio."""
    if frames <= 0 or src_frames <= 0:
        raise ValueError(f"frames and src_frames must be positive, got {frames} and {src_frames}")
    # Frame n lands at n * step output frames; the last source frame lands on the last output frame.
    step = Fraction(frames - 1, max(1, src_frames - 1)) if frames > 1 else Fraction(0)
    expr = f"N*{step.numerator}/({step.denominator}*{fps})/TB"
    graph = chain(["0:v"], [f"setpts={expr}", *cover(width, height), *cfr(fps), *exact_frames(frames)], "v")
    return [
        "-i", str(src),
        "-filter_complex", graph,
        "-map", "[v]",
        "-an",
        *h264(CHUNK_CRF, CHUNK_PRESET, fps),
        "-frames:v", str(frames),
        *mp4(out),
    ]  # fmt: skip


def stitch_filter(beat_sizes: Sequence[int], joins: Sequence[Join], fps: int) -> str:
    """The filter graph of `stitch`: inputs numbered in order, beat by beat; output `[v]`.

    Each beat's chunks are normalised (`cfr`) and concatenated; then beats are folded left to right,
    concatenated at a cut or cross-faded with `xfade` at `offset_frame`.
    """
    if not beat_sizes or any(n <= 0 for n in beat_sizes):
        raise ValueError(f"every beat needs at least one clip, got sizes {list(beat_sizes)}")
    if len(joins) != len(beat_sizes) - 1:
        raise ValueError(f"{len(beat_sizes)} beats need {len(beat_sizes) - 1} joins, got {len(joins)}")
    chains: list[str] = []
    first = 0
    for b, size in enumerate(beat_sizes):
        inputs = [f"{first + i}:v" for i in range(size)]
        if size == 1:
            chains.append(chain(inputs, cfr(fps), f"b{b}"))
        else:
            normalised = [f"b{b}c{i}" for i in range(size)]
            chains += [chain([i], cfr(fps), n) for i, n in zip(inputs, normalised, strict=True)]
            chains.append(chain(normalised, [f"concat=n={size}:v=1:a=0"], f"b{b}"))
        first += size
    acc = "b0"
    for k, join in enumerate(joins, start=1):
        out = "v" if k == len(joins) else f"j{k}"
        if join.is_cut:
            step = "concat=n=2:v=1:a=0"
        else:
            step = (
                f"xfade=transition={join.transition}"
                f":duration={seconds(join.frames, fps)}:offset={xfade_offset(join.offset_frame, fps)}"
            )
        chains.append(chain([acc, f"b{k}"], [step], out))
        acc = out
    if not joins:
        chains[-1] = chains[-1].removesuffix(link("b0")) + link("v")
    return graph(chains)


def stitch(beat_clips: Sequence[Sequence[Path]], joins: Sequence[Join], fps: int, out: Path) -> list[str]:
    """Join normalised chunks: seamlessly inside a beat, by `joins` between beats. Video only.

    The output has `sum(clip frames) - sum(join.frames)` frames.
    """
    inputs = [arg for clips in beat_clips for clip in clips for arg in ("-i", str(clip))]
    return [
        *inputs,
        "-filter_complex", stitch_filter([len(clips) for clips in beat_clips], joins, fps),
        "-map", "[v]",
        "-an",
        *h264(STITCH_CRF, STITCH_PRESET, fps),
        *mp4(out),
    ]  # fmt: skip


def overlay_filter(overlays: Sequence[Overlay], total_frames: int, fps: int) -> list[str]:
    """Chains from input 0 (made exactly `total_frames` long) with inputs 1.. (one PNG each) composited
    on their frame ranges, to `[v]`. A single-image input is held by overlay's `eof_action=repeat`."""
    chains = [chain(["0:v"], [*cfr(fps), *exact_frames(total_frames)], "m0")]
    for i, item in enumerate(overlays, start=1):
        step = f"overlay=format=auto:{enable_frames(item.start_frame, item.end_frame)}"
        chains.append(chain([f"m{i - 1}", f"{i}:v"], [step], f"m{i}"))
    chains.append(chain([f"m{len(overlays)}"], ["format=yuv420p"], "v"))
    return chains


def music_filter(
    input_index: int, volume: float, total_frames: int, fps: int, fade_in_s: float, fade_out_s: float
) -> str:
    """Music -> 48 kHz stereo at `volume`, faded in and out, exactly `total_frames / fps` long, to `[a]`."""
    total = Fraction(total_frames, fps)
    fade_in = min(Fraction(fade_in_s), total)
    fade_out = min(Fraction(fade_out_s), total)
    filters = [
        f"aformat=sample_rates={AUDIO_RATE}:channel_layouts=stereo",
        f"volume={decimal(volume)}",
        f"atrim=end={decimal(total)}",
        "asetpts=PTS-STARTPTS",
        f"apad=whole_dur={decimal(total)}",
    ]
    if fade_in > 0:
        filters.append(f"afade=t=in:st=0:d={decimal(fade_in)}")
    if fade_out > 0:
        filters.append(f"afade=t=out:st={decimal(total - fade_out)}:d={decimal(fade_out)}")
    return chain([f"{input_index}:a"], filters, "a")


def finalise(
    stitched: Path,
    out: Path,
    overlays: Sequence[Overlay],
    music: Path | None,
    music_volume: float,
    total_frames: int,
    fps: int,
    fade_in_s: float,
    fade_out_s: float,
) -> list[str]:
    """The deliverable: text overlays burnt in, music mixed, H.264 + AAC, exactly `total_frames` frames.

    Without `music` the file has no audio stream.
    """
    if total_frames <= 0:
        raise ValueError(f"total_frames must be positive, got {total_frames}")
    chains = overlay_filter(overlays, total_frames, fps)
    inputs = ["-i", str(stitched)] + [arg for item in overlays for arg in ("-i", str(item.png))]
    audio: list[str] = ["-an"]
    if music is not None:
        inputs += ["-i", str(music)]
        chains.append(music_filter(len(overlays) + 1, music_volume, total_frames, fps, fade_in_s, fade_out_s))
        audio = ["-map", "[a]", *aac()]
    return [
        *inputs,
        "-filter_complex", graph(chains),
        "-map", "[v]",
        *audio,
        *h264(FINAL_CRF, FINAL_PRESET, fps),
        "-frames:v", str(total_frames),
        *mp4(out),
    ]  # fmt: skip


# --- the copy path: per-pair pieces, short transition pieces, stream-copy assembly -----------------
# Pieces are encoded once at final quality and never again; without B-frames every piece starts and
# ends on plain, gap-free timestamps, so the concat demuxer can join them with stream copy exactly.
# The joined MP4 (`avc1`) carries one set of H.264 headers (SPS/PPS), so every piece must be encoded
# with identical ones (`ops.concat_copy` checks). A transition piece is a dozen frames, for which x264's
# `fast` set-up costs more than the frames: it uses `veryfast` (0.37 s -> 0.21 s a piece at 576p) with
# the two settings that otherwise differ in the headers pinned to `fast`'s values: 2 reference frames
# (SPS, PPS) and the chroma QP offset of -2 that `fast`'s psy-rd applies (PPS).
PIECE_X264 = ["-bf", "0"]
TRANSITION_PRESET = "veryfast"
TRANSITION_X264 = [*PIECE_X264, "-x264-params", "ref=2:chroma-qp-offset=-2"]


def _clip_chain(first_input: int, count: int, fps: int, label: str) -> list[str]:
    """Inputs `first_input` .. + count - 1 normalised and concatenated to `[label]`."""
    inputs = [f"{first_input + i}:v" for i in range(count)]
    if count == 1:
        return [chain(inputs, cfr(fps), label)]
    parts = [f"{label}c{i}" for i in range(count)]
    chains = [chain([i], cfr(fps), p) for i, p in zip(inputs, parts, strict=True)]
    return [*chains, chain(parts, [f"concat=n={count}:v=1:a=0"], label)]


def _overlay_chain(source: str, first_input: int, count: int, prefix: str = "") -> list[str]:
    """Full-frame PNG inputs composited over every frame of `[source]`, to `[<prefix>v]`."""
    chains = []
    current = source
    for i in range(count):
        nxt = f"{prefix}o{i}"
        chains.append(chain([current, f"{first_input + i}:v"], ["overlay=format=auto"], nxt))
        current = nxt
    chains.append(chain([current], ["format=yuv420p"], f"{prefix}v"))
    return chains


@dataclass(frozen=True)
class Stretch:
    """Frames `start_frame` .. `end_frame - 1` of a beat's concatenated clips, to be written to `out`."""

    start_frame: int
    end_frame: int
    out: Path

    def __post_init__(self) -> None:
        if not 0 <= self.start_frame < self.end_frame:
            raise ValueError(f"empty or negative frame range in {self!r}")

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame


def lossless(fps: int) -> list[str]:
    """H.264 at `-qp 0`: decodes to exactly the frames it was given (yuv420p in, yuv420p out)."""
    return ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", "-r", str(fps),
            "-fps_mode", "cfr"]  # fmt: skip


def _trim(stretch: Stretch) -> list[str]:
    return [f"trim=start_frame={stretch.start_frame}:end_frame={stretch.end_frame}", "setpts=PTS-STARTPTS"]


def pair_pieces_filter(
    clip_count: int, body: Stretch | None, edges: Sequence[Stretch], overlay_count: int, fps: int
) -> str:
    """The concatenated clips split into the body (overlays on every frame, to `[v]`) and the edges
    (untouched, to `[e0]`, `[e1]`, ...)."""
    outputs = ([body] if body else []) + list(edges)
    if not outputs:
        raise ValueError("a pair's pieces need a body or an edge")
    chains = _clip_chain(0, clip_count, fps, "c")
    sources = [f"s{i}" for i in range(len(outputs))]
    if len(outputs) == 1:
        sources = ["c"]
    else:
        chains.append(chain(["c"], [f"split={len(outputs)}"], "][".join(sources)))
    if body is not None:
        chains.append(chain([sources[0]], _trim(body), "m"))
        chains += _overlay_chain("m", clip_count, overlay_count)
    first_edge = 1 if body is not None else 0
    for j, edge in enumerate(edges):
        chains.append(chain([sources[first_edge + j]], _trim(edge), f"e{j}"))
    return graph(chains)


def pair_pieces(
    clips: Sequence[Path], overlays: Sequence[Path], fps: int, body: Stretch | None, edges: Sequence[Stretch] = ()
) -> list[str]:
    """A beat's part of the copy path, from one decode of its clips: the body (its frames outside any
    transition, text burnt in, encoded once at final quality) and the edges (the few frames its
    transitions blend, kept losslessly so that a transition reads about 25 frames, not whole chunks)."""
    inputs = [arg for path in (*clips, *overlays) for arg in ("-i", str(path))]
    outputs: list[str] = []
    if body is not None:
        outputs += ["-map", "[v]", "-an", *h264(FINAL_CRF, FINAL_PRESET, fps), *PIECE_X264,
                    "-frames:v", str(body.frames), *mp4(body.out)]  # fmt: skip
    for j, edge in enumerate(edges):
        outputs += ["-map", f"[e{j}]", "-an", *lossless(fps), "-frames:v", str(edge.frames), *mp4(edge.out)]
    return [
        *inputs,
        "-filter_complex", pair_pieces_filter(len(clips), body, edges, len(overlays), fps),
        *outputs,
    ]  # fmt: skip


@dataclass(frozen=True)
class Transition:
    """One transition piece: `frames` frames where one beat becomes the next. The outgoing clips are
    read from frame `a_start - 1` (one frame more, see `transition_piece_filter`), the incoming ones
    from their first frame; the incoming beat's text PNGs go on top; the piece is written to `out`."""

    a_clips: tuple[Path, ...]
    a_start: int
    b_clips: tuple[Path, ...]
    frames: int
    transition: str
    overlays: tuple[Path, ...]
    out: Path

    @property
    def inputs(self) -> tuple[Path, ...]:
        return (*self.a_clips, *self.b_clips, *self.overlays)


def transition_piece_filter(
    a_count: int,
    a_start: int,
    b_count: int,
    frames: int,
    transition: str,
    overlay_count: int,
    fps: int,
    first_input: int = 0,
    prefix: str = "",
) -> str:
    """A transition of `frames` frames on its own, blended exactly as `stitch` blends it, to
    `[<prefix>v]` (inputs from `first_input`: the outgoing clips, the incoming ones, the overlays).

    The outgoing side takes one frame more (from `a_start - 1`) and xfade starts half a frame into it,
    as in `stitch` (`xfade_offset(1)`); that extra first frame is then dropped, so frame i of the piece
    mixes (i + 0.5) / frames of the incoming side, the same weights as the full re-encode.
    """
    if a_start < 1 or frames <= 0:
        raise ValueError(f"a transition piece needs a_start >= 1 and frames > 0, got {a_start}, {frames}")
    a_trim = [f"trim=start_frame={a_start - 1}:end_frame={a_start + frames}", "setpts=PTS-STARTPTS"]
    b_trim = [f"trim=end_frame={frames}", "setpts=PTS-STARTPTS"]
    blend = [
        f"xfade=transition={transition}:duration={seconds(frames, fps)}:offset={xfade_offset(1, fps)}",
        "trim=start_frame=1",
        "setpts=PTS-STARTPTS",
    ]
    a, b = f"{prefix}a", f"{prefix}b"
    chains = [
        *_clip_chain(first_input, a_count, fps, a),
        chain([a], a_trim, f"{a}t"),
        *_clip_chain(first_input + a_count, b_count, fps, b),
        chain([b], b_trim, f"{b}t"),
        chain([f"{a}t", f"{b}t"], blend, f"{prefix}m"),
    ]
    overlays = _overlay_chain(f"{prefix}m", first_input + a_count + b_count, overlay_count, prefix)
    return graph([*chains, *overlays])


def _transition_output(label: str, frames: int, fps: int, out: Path) -> list[str]:
    return ["-map", link(label), "-an", *h264(FINAL_CRF, TRANSITION_PRESET, fps), *TRANSITION_X264,
            "-frames:v", str(frames), *mp4(out)]  # fmt: skip


def transition_pieces(transitions: Sequence[Transition], fps: int) -> list[str]:
    """Every transition piece of a video from one ffmpeg process (one output file each): one start-up
    instead of one per transition, and ffmpeg runs the encoders side by side."""
    if not transitions:
        raise ValueError("no transitions to render")
    inputs: list[str] = []
    chains: list[str] = []
    outputs: list[str] = []
    first = 0
    for k, t in enumerate(transitions):
        inputs += [arg for path in t.inputs for arg in ("-i", str(path))]
        prefix = f"t{k}"
        chains.append(
            transition_piece_filter(
                len(t.a_clips), t.a_start, len(t.b_clips), t.frames, t.transition, len(t.overlays), fps, first, prefix
            )
        )
        outputs += _transition_output(f"{prefix}v", t.frames, fps, t.out)
        first += len(t.inputs)
    return [*inputs, "-filter_complex", graph(chains), *outputs]


def concat_list(pieces: Sequence[Path]) -> str:
    """The concat demuxer's list file for `pieces` (absolute paths, quotes escaped)."""
    lines = []
    for path in pieces:
        quoted = str(path.absolute()).replace("'", "'\\''")
        lines.append(f"file '{quoted}'")
    return "\n".join(lines) + "\n"


def concat_copy(list_file: Path, out: Path) -> list[str]:
    """Join the pieces named in `list_file` with the concat demuxer, copying the stream (no encode)."""
    return ["-f", "concat", "-safe", "0", "-i", str(list_file), "-map", "0:v", "-c", "copy", "-an", *mp4(out)]


def music_mix(
    music: Path, out: Path, volume: float, total_frames: int, fps: int, fade_in_s: float, fade_out_s: float
) -> list[str]:
    """The music as the deliverable carries it: at `volume`, faded in and out, exactly
    `total_frames / fps` seconds, AAC in an M4A, ready to be muxed by stream copy."""
    return [
        "-i", str(music),
        "-filter_complex", music_filter(0, volume, total_frames, fps, fade_in_s, fade_out_s),
        "-map", "[a]",
        "-vn",
        *aac(),
        *mp4(out),
    ]  # fmt: skip


def mux_copy(video: Path, audio: Path | None, out: Path) -> list[str]:
    """The deliverable from a finished video stream and a finished audio stream (`music_mix`), both
    copied as they are: no encoding at all. Without `audio`, a copy with no audio stream."""
    if audio is None:
        return ["-i", str(video), "-map", "0:v", "-c", "copy", "-an", *mp4(out)]
    return ["-i", str(video), "-i", str(audio), "-map", "0:v", "-map", "1:a", "-c", "copy", *mp4(out)]


def compare(reference: Path, candidate: Path) -> list[str]:
    """SSIM and PSNR of `candidate` against `reference`, frame by frame (ffmpeg logs the averages)."""
    lavfi = "[0:v]split=2[r0][r1];[1:v]split=2[c0][c1];[r0][c0]ssim;[r1][c1]psnr"
    return ["-i", str(reference), "-i", str(candidate), "-lavfi", lavfi, "-f", "null", "-"]
