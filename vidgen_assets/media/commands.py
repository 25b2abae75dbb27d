"""ffmpeg commands built as data.

Every function here is pure: it returns the argument list that follows the ffmpeg executable (the
runner adds the executable, `-hide_banner`, `-y` and `-nostdin`). Tests assert these lists exactly.

Commands and their filter graphs are built with ffmpeg-python's graph API (`ffmpeg.input`, `.filter`,
`ffmpeg.output`, `ffmpeg.merge_outputs`) and compiled with its `get_args()`; nothing here runs them
(ffmpeg-python's `run` is never used: `runner.run` is the one place commands run). ffmpeg-python names
the links of a graph itself (`[s0]`, `[s1]`, ...), writes one filter per link, sorts each filter's and
each output's named options, numbers the inputs in the order the outputs reach them (first to last,
as written here) and escapes option values (`enable=between(n\\,0\\,47)`). Two limits of the library
shape the code:
- two inputs of the same file are one node to it (nodes are equal when their options are), so a
  command that reads a file twice cannot be written; `_inputs` refuses it instead of letting the
  library fold the two into one;
- the concat demuxer's list file is not a graph: `concat_list` writes it.

Time is counted in integer frames at an integer `fps`; seconds appear only where ffmpeg wants them,
printed with six decimals by `decimal()` (and `xfade_offset()`, half a frame early, so that a
transition starts exactly on its `offset_frame` whatever the microsecond rounding of timestamps).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import ffmpeg

from vidgen_assets.core.plan import Join

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

# Music under a voice: the voice's level drives a compressor on the music (`sidechaincompress`), so the
# music ducks while someone speaks and comes back in between; the mix then goes through a limiter so
# that a loud line over a loud bed never clips.
DUCK_THRESHOLD = 0.05  # the voice level (linear, RMS) above which the music is compressed (about -26 dBFS)
DUCK_RATIO = 4  # 4:1 above the threshold: a line at -12 dBFS RMS takes the music down by about 10 dB
DUCK_ATTACK_MS = 20  # the music goes down within a syllable
DUCK_RELEASE_MS = 400  # and comes back up over a short pause
DUCK_KEY_GAIN = 4  # the key is the voice raised 12 dB: speech at -16 LUFS (RMS ~0.1) ducks the music ~15 dB
MIX_LIMIT = 0.891251  # the limiter's ceiling: -1 dBFS, headroom for the AAC encoder's overshoot
LIMITER_TAIL_S = Fraction(1, 10)  # silence fed after the mix so that the limiter lets out its last samples

# An ffmpeg-python stream (the library ships no type hints).
Stream = Any


@dataclass(frozen=True)
class Overlay:
    """A full-frame RGBA PNG shown on frames `start_frame` .. `end_frame - 1` of the output."""

    png: Path
    start_frame: int
    end_frame: int

    def __post_init__(self) -> None:
        if not 0 <= self.start_frame < self.end_frame:
            raise ValueError(f"empty or negative frame range in {self!r}")


# --- numbers ------------------------------------------------------------------------------------


def decimal(value: Fraction | float) -> str:
    """A non-negative number (of seconds, or a volume) with six decimals."""
    micro = round(Fraction(value) * 1_000_000)
    if micro < 0:
        raise ValueError(f"expected a non-negative number, got {value}")
    return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"


def xfade_offset(offset_frame: int, fps: int) -> str:
    """The `xfade` offset that starts a transition on `offset_frame`: half a frame before it.

    xfade starts on the first frame whose timestamp reaches the offset, and timestamps that went through
    concat or an earlier xfade are off by a microsecond either way (1/24 s is not a whole number of
    microseconds), so an offset of exactly `offset_frame / fps` can start a frame late and add one.
    Half a frame of margin makes the frame count exact; it also centres the blend: a transition of T
    frames shows T mixes, from (T - 0.5) / T down to 0.5 / T of the outgoing clip.
    """
    return decimal(Fraction(2 * offset_frame - 1, 2 * fps))


# --- inputs, filter steps and output options ------------------------------------------------------


def _inputs(paths: Sequence[Path]) -> list[Stream]:
    """One ffmpeg input per path, in order (refused: the same file twice, which ffmpeg-python would
    make one input of)."""
    seen = [str(path) for path in paths]
    twice = sorted({path for path in seen if seen.count(path) > 1})
    if twice:
        raise ValueError(f"a command cannot read the same file twice: {', '.join(twice)}")
    return [ffmpeg.input(path) for path in seen]


def cfr(stream: Stream, fps: int) -> Stream:
    """Constant frame rate, a common timebase and pixel format: what xfade and concat need."""
    return stream.filter("fps", fps).filter("settb", "AVTB").filter("format", "yuv420p")


def cover(stream: Stream, width: int, height: int) -> Stream:
    """Scale to cover `width` x `height`, centre-crop to it, square pixels."""
    scaled = stream.filter("scale", width, height, force_original_aspect_ratio="increase")
    return scaled.filter("crop", width, height).filter("setsar", 1)


def exact_frames(stream: Stream, frames: int) -> Stream:
    """Pad a short stream by cloning its last frame, then cut it to exactly `frames` frames."""
    return stream.filter("tpad", stop_mode="clone", stop=frames).trim(end_frame=frames)


def frame_range(stream: Stream, start_frame: int | None, end_frame: int) -> Stream:
    """Frames `start_frame` (or the first) .. `end_frame - 1`, their timestamps starting at 0."""
    bounds = {"end_frame": end_frame} if start_frame is None else {"start_frame": start_frame, "end_frame": end_frame}
    return stream.trim(**bounds).setpts("PTS-STARTPTS")


def enable_frames(start_frame: int, end_frame: int) -> str:
    """A timeline `enable` expression true exactly on frames `start_frame` .. `end_frame - 1`."""
    return f"between(n,{start_frame},{end_frame - 1})"


def _concat(streams: Sequence[Stream]) -> Stream:
    """Video streams one after the other (one stream is itself)."""
    return streams[0] if len(streams) == 1 else ffmpeg.concat(*streams, v=1, a=0)


def _clips(inputs: Sequence[Stream], fps: int) -> Stream:
    """Clips normalised (`cfr`) and concatenated."""
    return _concat([cfr(clip.video, fps) for clip in inputs])


def _overlaid(stream: Stream, pngs: Sequence[Stream]) -> Stream:
    """Full-frame PNGs composited over every frame of `stream`, in yuv420p."""
    for png in pngs:
        stream = ffmpeg.overlay(stream, png.video, format="auto")
    return stream.filter("format", "yuv420p")


def _xfade(outgoing: Stream, incoming: Stream, transition: str, frames: int, offset: str, fps: int) -> Stream:
    return ffmpeg.filter([outgoing, incoming], "xfade", transition=transition, duration=decimal(Fraction(frames, fps)),
                         offset=offset)  # fmt: skip


Options = dict[str, str | int | None]


def h264(crf: int, preset: str, fps: int) -> Options:
    """H.264 yuv420p video at a constant `fps`."""
    return {"c:v": "libx264", "preset": preset, "crf": crf, "pix_fmt": "yuv420p", "r": fps, "fps_mode": "cfr"}


def lossless(fps: int) -> Options:
    """H.264 at `-qp 0`: decodes to exactly the frames it was given (yuv420p in, yuv420p out)."""
    return {"c:v": "libx264", "preset": "ultrafast", "qp": 0, "pix_fmt": "yuv420p", "r": fps, "fps_mode": "cfr"}


def aac() -> Options:
    """The deliverable's audio: AAC, 48 kHz stereo."""
    return {"c:a": "aac", "b:a": AUDIO_BITRATE, "ar": AUDIO_RATE, "ac": AUDIO_CHANNELS}


NO_AUDIO: Options = {"an": None}
NO_VIDEO: Options = {"vn": None}
# An MP4 with the index (`moov`) first.
MP4: Options = {"movflags": "+faststart", "format": "mp4"}


def _args(output: Stream) -> list[str]:
    """The compiled command (ffmpeg-python's `get_args`: inputs, `-filter_complex`, each output)."""
    return [str(arg) for arg in output.get_args()]


# --- builders -----------------------------------------------------------------------------------


def encode_raw_frames(
    out: Path, width: int, height: int, fps: int, crf: int = CHUNK_CRF, preset: str = CHUNK_PRESET
) -> list[str]:
    """Encode rgb24 frames read from standard input into an H.264 MP4 at a constant `fps`."""
    frames = ffmpeg.input("pipe:0", format="rawvideo", pix_fmt="rgb24", s=f"{width}x{height}", framerate=fps)
    return _args(frames.output(str(out), **NO_AUDIO, **h264(crf, preset, fps), **MP4))


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
    video = ffmpeg.input(str(src)).video
    if drop_first:
        video = video.trim(start_frame=1).setpts("PTS-STARTPTS")
    video = exact_frames(cfr(cover(video, width, height), fps), frames)
    options = {**NO_AUDIO, **h264(CHUNK_CRF, CHUNK_PRESET, fps), "frames:v": frames, **MP4}
    return _args(video.output(str(out), **options))


def retime_chunk(src: Path, out: Path, width: int, height: int, fps: int, frames: int, src_frames: int) -> list[str]:
    """Any clip of `src_frames` frames -> exactly `frames` frames at `fps`, its whole motion kept: source
    frame n is shown at n * (frames - 1) / (src_frames - 1) output frames, so a 6 s clip becomes a 1 s
    bridge that still starts on its first frame and ends on its last. No audio."""
    if frames <= 0 or src_frames <= 0:
        raise ValueError(f"frames and src_frames must be positive, got {frames} and {src_frames}")
    step = Fraction(frames - 1, max(1, src_frames - 1)) if frames > 1 else Fraction(0)
    video = ffmpeg.input(str(src)).video.setpts(f"N*{step.numerator}/({step.denominator}*{fps})/TB")
    video = exact_frames(cfr(cover(video, width, height), fps), frames)
    options = {**NO_AUDIO, **h264(CHUNK_CRF, CHUNK_PRESET, fps), "frames:v": frames, **MP4}
    return _args(video.output(str(out), **options))


def _stitched(beat_clips: Sequence[Sequence[Stream]], joins: Sequence[Join], fps: int) -> Stream:
    """Each beat's chunks normalised and concatenated; then beats folded left to right, concatenated at
    a cut or cross-faded with `xfade` at `offset_frame`."""
    if not beat_clips or any(not clips for clips in beat_clips):
        raise ValueError(f"every beat needs at least one clip, got sizes {[len(c) for c in beat_clips]}")
    if len(joins) != len(beat_clips) - 1:
        raise ValueError(f"{len(beat_clips)} beats need {len(beat_clips) - 1} joins, got {len(joins)}")
    beats = [_clips(clips, fps) for clips in beat_clips]
    video = beats[0]
    for join, beat in zip(joins, beats[1:], strict=True):
        if join.is_cut:
            video = _concat([video, beat])
        else:
            video = _xfade(video, beat, join.transition, join.frames, xfade_offset(join.offset_frame, fps), fps)
    return video


def stitch(beat_clips: Sequence[Sequence[Path]], joins: Sequence[Join], fps: int, out: Path) -> list[str]:
    """Join normalised chunks: seamlessly inside a beat, by `joins` between beats. Video only.

    The output has `sum(clip frames) - sum(join.frames)` frames.
    """
    inputs = _inputs([clip for clips in beat_clips for clip in clips])
    by_beat, first = [], 0
    for clips in beat_clips:
        by_beat.append(inputs[first : first + len(clips)])
        first += len(clips)
    video = _stitched(by_beat, joins, fps)
    return _args(video.output(str(out), **NO_AUDIO, **h264(STITCH_CRF, STITCH_PRESET, fps), **MP4))


def _audio_format(audio: Stream) -> Stream:
    """Audio in the deliverable's format: 48 kHz stereo."""
    return audio.filter("aformat", sample_rates=AUDIO_RATE, channel_layouts="stereo")


def _exact_length(audio: Stream, total: Fraction) -> Stream:
    """Audio cut, or padded with silence, to exactly `total` seconds."""
    trimmed = audio.filter("atrim", end=decimal(total)).filter("asetpts", "PTS-STARTPTS")
    return trimmed.filter("apad", whole_dur=decimal(total))


def _music(music: Stream, volume: float, total_frames: int, fps: int, fade_in_s: float, fade_out_s: float) -> Stream:
    """Music -> 48 kHz stereo at `volume`, faded in and out, exactly `total_frames / fps` long."""
    total = Fraction(total_frames, fps)
    fade_in = min(Fraction(fade_in_s), total)
    fade_out = min(Fraction(fade_out_s), total)
    bed = _exact_length(_audio_format(music.audio).filter("volume", decimal(volume)), total)
    if fade_in > 0:
        bed = bed.filter("afade", t="in", st=0, d=decimal(fade_in))
    if fade_out > 0:
        bed = bed.filter("afade", t="out", st=decimal(total - fade_out), d=decimal(fade_out))
    return bed


def finalise(
    stitched: Path,
    out: Path,
    overlays: Sequence[Overlay],
    audio: Path | None,
    total_frames: int,
    fps: int,
    captions: Path | None = None,
    fonts_dir: Path | None = None,
) -> list[str]:
    """The deliverable on the full re-encode path: text overlays burnt in, then `captions` (an ASS file)
    drawn by libass (`ass`, its fonts looked for in `fonts_dir`), H.264, exactly `total_frames` frames,
    with `audio` (the finished track: `music_mix`, finished to the loudness target) copied as it is.
    Without `audio` the file has no audio stream."""
    if total_frames <= 0:
        raise ValueError(f"total_frames must be positive, got {total_frames}")
    inputs = _inputs([stitched, *(item.png for item in overlays), *([audio] if audio is not None else [])])
    video = exact_frames(cfr(inputs[0].video, fps), total_frames)
    for item, png in zip(overlays, inputs[1 : 1 + len(overlays)], strict=True):
        video = ffmpeg.overlay(video, png.video, format="auto", enable=enable_frames(item.start_frame, item.end_frame))
    if captions is not None:
        video = video.filter("ass", str(captions), **({"fontsdir": str(fonts_dir)} if fonts_dir is not None else {}))
    streams = [video.filter("format", "yuv420p")]
    sound: Options = NO_AUDIO
    if audio is not None:
        streams.append(inputs[-1].audio)
        sound = {"c:a": "copy"}
    options = {**sound, **h264(FINAL_CRF, FINAL_PRESET, fps), "frames:v": total_frames, **MP4}
    return _args(ffmpeg.output(*streams, str(out), **options))


CAPTION_PROBE_GREY = 128
"""The flat grey a caption is drawn on alone, to find where libass puts it (text and box both show on it)."""


def caption_frame(
    captions: Path, fonts_dir: Path | None, width: int, height: int, fps: int, frame: int, out: Path
) -> list[str]:
    """Frame `frame` of `captions` (an ASS file) drawn by libass alone over a flat grey `width` x
    `height` picture, as a PNG: where the captions sit at that moment, whatever the video under them."""
    grey = f"0x{CAPTION_PROBE_GREY:02x}{CAPTION_PROBE_GREY:02x}{CAPTION_PROBE_GREY:02x}"
    source = ffmpeg.input(f"color=c={grey}:s={width}x{height}:r={fps}:d={decimal(Fraction(frame + 1, fps))}", f="lavfi")
    drawn = source.video.filter("ass", str(captions), **({"fontsdir": str(fonts_dir)} if fonts_dir else {}))
    picked = drawn.filter("trim", start_frame=frame).filter("setpts", "PTS-STARTPTS")
    return _args(picked.output(str(out), **{"frames:v": 1, "format": "image2", "c:v": "png"}))


# --- the copy path: per-pair pieces, short transition pieces, stream-copy assembly -----------------
# Pieces are encoded once at final quality and never again; without B-frames every piece starts and
# ends on plain, gap-free timestamps, so the concat demuxer can join them with stream copy exactly.
# The joined MP4 (`avc1`) carries one set of H.264 headers (SPS/PPS), so every piece must be encoded
# with identical ones (`ops.concat_copy` checks). A transition piece is a dozen frames, for which x264's
# `fast` set-up costs more than the frames: it uses `veryfast` (0.37 s -> 0.21 s a piece at 576p) with
# the two settings that otherwise differ in the headers pinned to `fast`'s values: 2 reference frames
# (SPS, PPS) and the chroma QP offset of -2 that `fast`'s psy-rd applies (PPS).
PIECE_X264: Options = {"bf": 0}
TRANSITION_PRESET = "veryfast"
TRANSITION_X264: Options = {**PIECE_X264, "x264-params": "ref=2:chroma-qp-offset=-2"}


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


def pair_pieces(
    clips: Sequence[Path], overlays: Sequence[Path], fps: int, body: Stretch | None, edges: Sequence[Stretch] = ()
) -> list[str]:
    """A beat's part of the copy path, from one decode of its clips: the body (its frames outside any
    transition, text burnt in, encoded once at final quality) and the edges (the few frames its
    transitions blend, kept losslessly so that a transition reads about 25 frames, not whole chunks).

    The concatenated clips are split (`split`) into one branch per output: the body gets the overlays
    on every frame, the edges are left untouched."""
    stretches = ([body] if body else []) + list(edges)
    if not stretches:
        raise ValueError("a pair's pieces need a body or an edge")
    inputs = _inputs([*clips, *overlays])
    clip = _clips(inputs[: len(clips)], fps)
    split = clip.split() if len(stretches) > 1 else None
    branches = [clip] if split is None else [split[i] for i in range(len(stretches))]
    outputs = []
    if body is not None:
        video = _overlaid(frame_range(branches[0], body.start_frame, body.end_frame), inputs[len(clips) :])
        options = {**NO_AUDIO, **h264(FINAL_CRF, FINAL_PRESET, fps), **PIECE_X264, "frames:v": body.frames, **MP4}
        outputs.append(video.output(str(body.out), **options))
    for edge, branch in zip(edges, branches[1:] if body is not None else branches, strict=True):
        options = {**NO_AUDIO, **lossless(fps), "frames:v": edge.frames, **MP4}
        outputs.append(frame_range(branch, edge.start_frame, edge.end_frame).output(str(edge.out), **options))
    return _args(ffmpeg.merge_outputs(*outputs))


@dataclass(frozen=True)
class Transition:
    """One transition piece: `frames` frames where one beat becomes the next. The outgoing clips are
    read from frame `a_start - 1` (one frame more, see `_transition_piece`), the incoming ones
    from their first frame; the incoming beat's text PNGs go on top; the piece is written to `out`."""

    a_clips: tuple[Path, ...]
    a_start: int
    b_clips: tuple[Path, ...]
    frames: int
    transition: str
    overlays: tuple[Path, ...]
    out: Path

    def __post_init__(self) -> None:
        if self.a_start < 1 or self.frames <= 0:
            raise ValueError(f"a transition piece needs a_start >= 1 and frames > 0, got {self.a_start}, {self.frames}")
        Join(transition=self.transition, frames=self.frames, offset_frame=1)  # the same name rules as a join

    @property
    def inputs(self) -> tuple[Path, ...]:
        return (*self.a_clips, *self.b_clips, *self.overlays)


def _transition_piece(t: Transition, inputs: Sequence[Stream], fps: int) -> Stream:
    """A transition on its own, blended exactly as `stitch` blends it (inputs: the outgoing clips, the
    incoming ones, the overlays).

    The outgoing side takes one frame more (from `a_start - 1`) and xfade starts half a frame into it,
    as in `stitch` (`xfade_offset(1)`); that extra first frame is then dropped, so frame i of the piece
    mixes (i + 0.5) / frames of the incoming side, the same weights as the full re-encode.
    """
    a_count, b_count = len(t.a_clips), len(t.b_clips)
    outgoing = frame_range(_clips(inputs[:a_count], fps), t.a_start - 1, t.a_start + t.frames)
    incoming = frame_range(_clips(inputs[a_count : a_count + b_count], fps), None, t.frames)
    blend = _xfade(outgoing, incoming, t.transition, t.frames, xfade_offset(1, fps), fps)
    blend = blend.trim(start_frame=1).setpts("PTS-STARTPTS")
    return _overlaid(blend, inputs[a_count + b_count :])


def transition_pieces(transitions: Sequence[Transition], fps: int) -> list[str]:
    """Every transition piece of a video from one ffmpeg process (one output file each): one start-up
    instead of one per transition, and ffmpeg runs the encoders side by side."""
    if not transitions:
        raise ValueError("no transitions to render")
    inputs = _inputs([path for t in transitions for path in t.inputs])
    outputs, first = [], 0
    for t in transitions:
        piece = _transition_piece(t, inputs[first : first + len(t.inputs)], fps)
        options = {**NO_AUDIO, **h264(FINAL_CRF, TRANSITION_PRESET, fps), **TRANSITION_X264, "frames:v": t.frames}
        outputs.append(piece.output(str(t.out), **options, **MP4))
        first += len(t.inputs)
    return _args(ffmpeg.merge_outputs(*outputs))


def concat_list(pieces: Sequence[Path]) -> str:
    """The concat demuxer's list file for `pieces` (absolute paths, quotes escaped). Not a graph, and
    not something ffmpeg-python writes."""
    lines = []
    for path in pieces:
        quoted = str(path.absolute()).replace("'", "'\\''")
        lines.append(f"file '{quoted}'")
    return "\n".join(lines) + "\n"


def concat_copy(list_file: Path, out: Path) -> list[str]:
    """Join the pieces named in `list_file` with the concat demuxer, copying the stream (no encode)."""
    pieces = ffmpeg.input(str(list_file), format="concat", safe=0)
    return _args(pieces.video.output(str(out), c="copy", **NO_AUDIO, **MP4))


def decode_music(src: Path, out: Path) -> list[str]:
    """An audio file (the user's track: WAV, MP3, M4A, FLAC) as a 48 kHz stereo 16-bit WAV."""
    audio = _audio_format(ffmpeg.input(str(src)).audio)
    return _args(audio.output(str(out), **NO_VIDEO, **{"c:a": "pcm_s16le", "format": "wav"}))


def music_mix(
    music: Path, out: Path, volume: float, total_frames: int, fps: int, fade_in_s: float, fade_out_s: float
) -> list[str]:
    """The music as the deliverable carries it, before its loudness is finished: at `volume`, faded in
    and out, exactly `total_frames / fps` seconds, as a WAV (`wav_mix`)."""
    bed = _music(ffmpeg.input(str(music)), volume, total_frames, fps, fade_in_s, fade_out_s)
    return _args(bed.output(str(out), **NO_VIDEO, **wav_mix()))


def voice_over_music(
    music: Path,
    voice: Path,
    out: Path,
    music_volume: float,
    voice_volume: float,
    total_frames: int,
    fps: int,
    fade_in_s: float,
    fade_out_s: float,
) -> list[str]:
    """A voice track over the music bed, the music ducked under the voice, as one WAV (`wav_mix`) of
    exactly `total_frames / fps` seconds, to be finished to the loudness target.

    `voice` is the whole voice track (each line already at its time, silence between). The bed is made
    as `music_mix` makes it; the voice is brought to the same format, volume and length and split in
    two (`asplit`): one copy is the key of a compressor on the bed (`sidechaincompress`: the louder the
    voice, the lower the music, back up `DUCK_RELEASE_MS` after it stops), the other is mixed over the
    ducked bed at unity gain (`amix` with `normalize=0`, so the bed does not drop to half when the voice
    is silent). A limiter (`alimiter`, without its auto-level, at `MIX_LIMIT`) keeps the mix from
    clipping. The result is cut to the exact length at the end."""
    bed_in, voice_in = _inputs([music, voice])
    total = Fraction(total_frames, fps)
    # Every input of the two-input filters runs on forever (`apad`) and the mix is cut to length once, at
    # the end: `sidechaincompress` (and `amix`) end their output with the first input that ends, and with
    # ffmpeg's threaded scheduler that end could arrive while the other input's last frames were still on
    # their way: the mix then lost its last 0.25 s or so, on a busy machine, about one render in twenty.
    bed = _music(bed_in, music_volume, total_frames, fps, fade_in_s, fade_out_s).filter("apad")
    speech = _exact_length(_audio_format(voice_in.audio).filter("volume", decimal(voice_volume)), total)
    split = speech.filter("apad").asplit()
    key, over = split[0], split[1]
    ducked = ffmpeg.filter(
        [bed, key], "sidechaincompress", threshold=DUCK_THRESHOLD, ratio=DUCK_RATIO, attack=DUCK_ATTACK_MS,
        release=DUCK_RELEASE_MS, level_sc=DUCK_KEY_GAIN,
    )  # fmt: skip
    mixed = ffmpeg.filter([ducked, over], "amix", inputs=2, duration="first", normalize=0)
    # The limiter looks ahead (`latency=1` keeps its output aligned with its input); fed forever, it lets
    # out every sample of the video's length before the cut.
    limited = _exact_length(mixed.filter("alimiter", limit=MIX_LIMIT, level=0, latency=1), total)
    return _args(limited.output(str(out), **NO_VIDEO, **wav_mix()))


# --- loudness finishing (`media.loudness`): measure, then one linear gain and a true-peak limiter ---
TRUE_PEAK_RATE = 192000
"""The limiter runs at 4x the delivery rate, where the samples show the peaks between 48 kHz samples
(BS.1770's true peak is measured at 4x too)."""


def loudness_analysis(path: Path) -> list[str]:
    """ffmpeg's EBU R128 meter (`ebur128`, ITU-R BS.1770) over the first audio stream of `path`, true
    peak on: it logs a summary of the integrated loudness, the loudness range and the true peak."""
    audio = ffmpeg.input(str(path)).audio.filter("ebur128", peak="true", framelog="quiet")
    return ["-nostats", *_args(audio.output("-", format="null"))]


def wav_mix() -> Options:
    """Output options for a mix made to be measured and finished: 48 kHz stereo PCM, 24 bits (no
    rounding a later gain would make audible)."""
    return {"c:a": "pcm_s24le", "ar": AUDIO_RATE, "ac": AUDIO_CHANNELS, "format": "wav"}


def finish_audio(
    mix: Path, out: Path, gain_db: float, ceiling_dbtp: float, limit: bool, total_frames: int, fps: int
) -> list[str]:
    """`mix` with one linear gain of `gain_db` and, with `limit`, its peaks limited to `ceiling_dbtp` at
    4x the sample rate (`alimiter` without its auto-level, `latency=1` keeping it aligned, fed past the
    end so that it lets out every sample), back at 48 kHz; exactly `total_frames / fps` seconds, AAC in an
    M4A ready to be muxed by stream copy."""
    total = Fraction(total_frames, fps)
    audio = ffmpeg.input(str(mix)).audio.filter("volume", f"{gain_db:.2f}dB")
    if limit:
        ceiling = min(1.0, max(0.0625, 10 ** (ceiling_dbtp / 20)))  # alimiter's range: -24..0 dB, linear
        audio = (
            audio.filter("aresample", TRUE_PEAK_RATE).filter("apad")
            .filter("alimiter", limit=f"{ceiling:.6f}", level=0, latency=1)
            .filter("aresample", AUDIO_RATE)
        )  # fmt: skip
    return _args(_exact_length(audio, total).output(str(out), **NO_VIDEO, **aac(), **MP4))


def mux_copy(video: Path, audio: Path | None, out: Path) -> list[str]:
    """The deliverable from a finished video stream and a finished audio stream (`music_mix`), both
    copied as they are: no encoding at all. Without `audio`, a copy with no audio stream."""
    if audio is None:
        return _args(ffmpeg.input(str(video)).video.output(str(out), c="copy", **NO_AUDIO, **MP4))
    picture, sound = _inputs([video, audio])
    return _args(ffmpeg.output(picture.video, sound.audio, str(out), c="copy", **MP4))


def compare(reference: Path, candidate: Path) -> list[str]:
    """SSIM and PSNR of `candidate` against `reference`, frame by frame (ffmpeg logs the averages)."""
    ref, cand = (stream.video.split() for stream in _inputs([reference, candidate]))
    ssim = ffmpeg.filter([ref[0], cand[0]], "ssim")
    psnr = ffmpeg.filter([ref[1], cand[1]], "psnr")
    return _args(ffmpeg.output(ssim, psnr, "-", format="null"))


# --- the animatic's camera moves -------------------------------------------------------------------
# A chunk is made from one still (its card), looped: ffmpeg's filters make every frame, nothing is drawn
# frame by frame in Python. The chunk is an intermediate (the pieces are encoded from it at final
# quality), so it is encoded near-losslessly with the cheapest preset.
MOTION_PRESET = "ultrafast"


def still_motion(
    out: Path,
    width: int,
    height: int,
    fps: int,
    frames: int,
    filters: Sequence[tuple[str, dict[str, str | int]]],
    crf: int = CHUNK_CRF,
) -> list[str]:
    """`frames` frames at a constant `fps` made from one rgb24 still (`width` x `height`) read from
    standard input, looped, through `filters` (a camera move: (name, options) pairs), encoded as an
    H.264 MP4 chunk whose last frame is a keyframe."""
    still = ffmpeg.input("pipe:0", format="rawvideo", pix_fmt="rgb24", s=f"{width}x{height}", framerate=fps)
    video = still.video.filter("format", "yuv420p").filter("loop", loop=-1, size=1).filter("setpts", f"N/{fps}/TB")
    for name, kwargs in filters:
        video = video.filter(name, **kwargs)
    # The last frame is a keyframe: the next chunk's source (`probe.last_frame`) decodes that one frame.
    last_key = {"force_key_frames": f"expr:eq(n,{frames - 1})"}
    options: Options = {"frames:v": frames, **NO_AUDIO, **h264(crf, MOTION_PRESET, fps), **last_key, **MP4}
    return _args(video.output(str(out), **options))


# --- quality checks on a generated clip (`media.qc`; the thresholds are `core.qc`'s) -------------------


@dataclass(frozen=True)
class FrameMatch:
    """Frame `frame` of a clip compared with the image `picture` (`clip_analysis`), its PSNR written to
    `stats_file` by ffmpeg's `psnr`."""

    frame: int
    picture: Path
    stats_file: Path

    def __post_init__(self) -> None:
        if self.frame < 0:
            raise ValueError(f"expected a frame >= 0, got {self.frame}")


def clip_analysis(
    clip: Path,
    metadata_file: Path,
    black_pixel_luma: int,
    freeze_noise_db: float,
    freeze_min_s: float,
    cut_score: float,
    matches: Sequence[FrameMatch] = (),
    match_size: tuple[int, int] = (32, 18),
    analysis_width: int | None = None,
) -> list[str]:
    """One decode of `clip` through ffmpeg's detectors, every frame's findings written to `metadata_file`
    (`metadata=print`): `signalstats` (luma mean, range and difference from the frame before),
    `blackframe` (the share of pixels under `black_pixel_luma`, on every frame: `amount=0`),
    `freezedetect` (stretches still to within `freeze_noise_db` for `freeze_min_s` or longer) and `scdet`
    (a scene-change score per frame, a cut at `cut_score`). The same decode (`split`) also compares each
    of `matches`' frames with its picture: both converted to RGB, then shrunk to `match_size` (area
    average; shrinking the clip's 4:2:0 frame first would blur its colour more than the picture's), their
    PSNR written to the match's `stats_file` by `psnr`. `analysis_width`: the detectors see the clip shrunk
    to this width first (area average, an even height), a third of the work on a long final video. Every
    output is discarded."""
    width, height = match_size
    if width <= 0 or height <= 0:
        raise ValueError(f"expected a positive match size, got {width}x{height}")
    inputs = _inputs([clip, *(m.picture for m in matches)])
    video = inputs[0].video
    split = video.split() if matches else None
    branches = [video] if split is None else [split[i] for i in range(len(matches) + 1)]

    def small(stream: Stream) -> Stream:
        return stream.filter("format", "rgb24").filter("scale", width, height, flags="area")

    analysed = branches[0]
    if analysis_width is not None:
        if analysis_width <= 0 or analysis_width % 2:
            raise ValueError(f"expected a positive, even analysis width, got {analysis_width}")
        analysed = analysed.filter("scale", analysis_width, -2, flags="area")
    detected = (
        analysed.filter("signalstats")
        .filter("blackframe", amount=0, threshold=black_pixel_luma)
        .filter("freezedetect", n=f"{freeze_noise_db:g}dB", d=decimal(freeze_min_s))
        .filter("scdet", threshold=f"{cut_score:g}")
        .filter("metadata", mode="print", file=str(metadata_file))
    )  # fmt: skip
    outputs = [detected.output("-", format="null")]
    for match, branch, picture in zip(matches, branches[1:], inputs[1:], strict=True):
        one = small(frame_range(branch, match.frame, match.frame + 1))
        psnr = ffmpeg.filter([one, small(picture.video)], "psnr", stats_file=str(match.stats_file))
        outputs.append(psnr.output("-", format="null"))
    return ["-nostats", *_args(ffmpeg.merge_outputs(*outputs))]
