"""Media operations: a pure command builder run by the one runner, written atomically.

Each operation writes to a temporary file beside `out` and renames it into place only when ffmpeg
succeeded, so a failure (a `MediaError` carrying the command and stderr) never leaves a partial file at
`out`. Each returns the probed `MediaInfo` of what it wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vidgen_assets.core.plan import Join
from vidgen_assets.media import commands, fonts, loudness, sound
from vidgen_assets.media.commands import Overlay, Stretch, Transition
from vidgen_assets.media.files import atomic_output
from vidgen_assets.media.loudness import Finished
from vidgen_assets.media.probe import MediaInfo, probe, video_headers
from vidgen_assets.media.runner import MediaError, run

__all__ = [
    "Join",
    "MediaInfo",
    "Overlay",
    "Stretch",
    "Transition",
    "encode_frames",
    "finalise",
    "normalise_chunk",
    "stitch",
]


def _raw_bytes(frames: Iterable[npt.NDArray[np.uint8]], width: int, height: int) -> Iterator[bytes]:
    for n, frame in enumerate(frames):
        if frame.shape != (height, width, 3) or frame.dtype != np.uint8:
            expected = (height, width, 3)
            raise ValueError(f"frame {n}: expected uint8 array of shape {expected}, got {frame.dtype} {frame.shape}")
        yield np.ascontiguousarray(frame).tobytes()


def encode_frames(frames: Iterable[npt.NDArray[np.uint8]], out: Path, width: int, height: int, fps: int) -> MediaInfo:
    """Encode RGB frames (uint8, height x width x 3) into an H.264 MP4 chunk at a constant `fps`."""
    with atomic_output(out) as tmp:
        run(
            commands.encode_raw_frames(tmp, width, height, fps),
            stdin_chunks=_raw_bytes(frames, width, height),
        )
        info = probe(tmp)
    return info


def normalise_chunk(
    src: Path, out: Path, width: int, height: int, fps: int, frames: int, drop_first: bool
) -> MediaInfo:
    """See `commands.normalise_chunk`; checks that the result has exactly `frames` frames."""
    with atomic_output(out) as tmp:
        args = commands.normalise_chunk(src, tmp, width, height, fps, frames, drop_first)
        run(args)
        info = _expect(probe(tmp), frames, args)
    return info


def retime_chunk(src: Path, out: Path, width: int, height: int, fps: int, frames: int) -> MediaInfo:
    """See `commands.retime_chunk`; the source's frames are counted first, the result's checked."""
    src_frames = probe(src).frames
    with atomic_output(out) as tmp:
        args = commands.retime_chunk(src, tmp, width, height, fps, frames, src_frames)
        run(args)
        info = _expect(probe(tmp), frames, args)
    return info


def stitch(beat_clips: Sequence[Sequence[Path]], joins: Sequence[Join], fps: int, out: Path) -> MediaInfo:
    """See `commands.stitch`; checks the joins against the clips' frame counts, then the result's count
    (sum of clips minus sum of transitions)."""
    beat_frames = [sum(probe(clip).frames for clip in clips) for clips in beat_clips]
    _check_joins(beat_frames, joins)
    total = sum(beat_frames) - sum(join.frames for join in joins)
    with atomic_output(out) as tmp:
        args = commands.stitch(beat_clips, joins, fps, tmp)
        run(args)
        info = _expect(probe(tmp), total, args)
    return info


def finalise(
    stitched: Path,
    out: Path,
    overlays: Sequence[Overlay],
    audio: Path | None,
    total_frames: int,
    fps: int,
    captions: Path | None = None,
) -> MediaInfo:
    """See `commands.finalise` (captions drawn with the fonts of `fonts.font_dir()`); checks the frame count."""
    with atomic_output(out) as tmp:
        args = commands.finalise(stitched, tmp, overlays, audio, total_frames, fps, captions, fonts.font_dir())
        run(args)
        info = _expect(probe(tmp), total_frames, args)
    return info


def _check_joins(beat_frames: Sequence[int], joins: Sequence[Join]) -> None:
    """Each join must start where the next beat starts, and a transition must fit in both beats."""
    if len(joins) != len(beat_frames) - 1:
        raise ValueError(f"{len(beat_frames)} beats need {len(beat_frames) - 1} joins, got {len(joins)}")
    start = 0
    for k, join in enumerate(joins):
        start += beat_frames[k] - join.frames
        if join.offset_frame != start:
            raise ValueError(f"join {k} ({join}) should start at frame {start} given the clips' lengths")
        if join.frames > min(beat_frames[k], beat_frames[k + 1]):
            raise ValueError(f"join {k} ({join}) is longer than a beat it joins ({beat_frames[k : k + 2]})")


def _expect(info: MediaInfo, frames: int, args: Sequence[str]) -> MediaInfo:
    if info.frames != frames:
        raise MediaError(f"expected {frames} frames, ffmpeg wrote {info.frames}", args)
    return info


def pair_pieces(
    clips: Sequence[Path], overlays: Sequence[Path], fps: int, body: Stretch | None, edges: Sequence[Stretch] = ()
) -> None:
    """See `commands.pair_pieces`; every output is written whole or not at all, with its frame count
    checked."""
    with ExitStack() as stack:
        tmp_body = None if body is None else replace(body, out=stack.enter_context(atomic_output(body.out)))
        tmp_edges = [replace(e, out=stack.enter_context(atomic_output(e.out))) for e in edges]
        args = commands.pair_pieces(clips, overlays, fps, tmp_body, tmp_edges)
        run(args)
        for stretch in ([tmp_body] if tmp_body else []) + tmp_edges:
            _expect(probe(stretch.out), stretch.frames, args)


def transition_pieces(transitions: Sequence[Transition], fps: int) -> None:
    """See `commands.transition_pieces`; every piece is written whole or not at all, with its frame
    count checked."""
    with ExitStack() as stack:
        tmp = [replace(t, out=stack.enter_context(atomic_output(t.out))) for t in transitions]
        args = commands.transition_pieces(tmp, fps)
        run(args)
        for t in tmp:
            _expect(probe(t.out), t.frames, args)


def concat_copy(pieces: Sequence[Path], out: Path) -> MediaInfo:
    """Join pieces by stream copy; checks first that every piece has the same codec headers (the
    output declares one set), then that the result has every frame of every piece."""
    if not pieces:
        raise ValueError("nothing to join")
    headers = {path: video_headers(path) for path in pieces}
    first = pieces[0]
    odd = [path.name for path in pieces if headers[path] != headers[first]]
    if odd:
        raise MediaError(
            f"cannot join by stream copy: {', '.join(odd)} were encoded with other H.264 headers than "
            f"{first.name} (render with VIDGEN_STITCH=reencode, and report it)",
            ["concat", *map(str, pieces)],
        )
    expected = sum(probe(path).frames for path in pieces)
    with atomic_output(out) as tmp:
        list_file = tmp.with_suffix(".txt")
        list_file.write_text(commands.concat_list(pieces), encoding="utf-8")
        try:
            args = commands.concat_copy(list_file, tmp)
            run(args)
        finally:
            list_file.unlink(missing_ok=True)
        info = _expect(probe(tmp), expected, args)
    return info


LoudnessTarget = tuple[float, float]
"""(integrated loudness in LUFS, true-peak ceiling in dBTP): the spec's `audio`."""


def _finished(mix: Path, out: Path, target: LoudnessTarget, total_frames: int, fps: int) -> tuple[MediaInfo, Finished]:
    """`mix` (a WAV) finished to `target` as the AAC `out`; checks its length; the WAV is removed."""
    try:
        done = loudness.finish(mix, out, *target, total_frames, fps)
    finally:
        mix.unlink(missing_ok=True)
    info = _expect_audio(probe(out), total_frames / fps, [str(out)])
    return info, done


def _mix_path(out: Path) -> Path:
    return out.with_name(f".{out.stem}.mix.wav")


def decode_music(src: Path, out: Path) -> MediaInfo:
    """The user's track (any audio ffmpeg reads) as a 48 kHz stereo 16-bit WAV (`commands.decode_music`)."""
    with atomic_output(out) as tmp:
        run(commands.decode_music(src, tmp))
        info = probe(tmp)
    return info


def music_mix(
    music: Path, out: Path, volume: float, total_frames: int, fps: int, fade_in_s: float, fade_out_s: float,
    target: LoudnessTarget,
) -> tuple[MediaInfo, Finished]:  # fmt: skip
    """See `commands.music_mix`, then finished to `target` (`media.loudness.finish`) as AAC at `out`;
    checks that the audio lasts the video's length (within an AAC frame)."""
    mix = _mix_path(out)
    run(commands.music_mix(music, mix, volume, total_frames, fps, fade_in_s, fade_out_s))
    return _finished(mix, out, target, total_frames, fps)


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
    target: LoudnessTarget,
) -> tuple[MediaInfo, Finished]:
    """See `commands.voice_over_music`, then finished to `target`; checks that the audio lasts the
    video's length."""
    mix = _mix_path(out)
    run(
        commands.voice_over_music(
            music, voice, mix, music_volume, voice_volume, total_frames, fps, fade_in_s, fade_out_s
        )
    )
    return _finished(mix, out, target, total_frames, fps)


def _expect_audio(info: MediaInfo, seconds: float, args: Sequence[str]) -> MediaInfo:
    """The audio lasts `seconds`, within an AAC frame."""
    if info.audio_duration_s is None or abs(info.audio_duration_s - seconds) > 1024 / commands.AUDIO_RATE:
        raise MediaError(f"expected {seconds:.3f} s of audio, ffmpeg wrote {info.audio_duration_s} s", args)
    return info


def mux_copy(video: Path, audio: Path | None, out: Path, total_frames: int) -> MediaInfo:
    """See `commands.mux_copy`; checks the frame count."""
    with atomic_output(out) as tmp:
        args = commands.mux_copy(video, audio, tmp)
        run(args)
        info = _expect(probe(tmp), total_frames, args)
    return info


def fit_speech(src: Path, out: Path, tempo: float = 1.0, max_seconds: float | None = None) -> MediaInfo:
    """See `sound.fit_speech`."""
    with atomic_output(out) as tmp:
        run(sound.fit_speech(src, tmp, tempo, max_seconds))
        info = probe(tmp)
    return info


def soundtrack(
    music: Path | None,
    music_volume: float,
    fades: tuple[float, float],
    lines: Sequence[sound.Placed],
    voice_volume: float,
    total_frames: int,
    fps: int,
    out: Path,
    target: LoudnessTarget,
) -> tuple[MediaInfo, Finished]:
    """The audio of a video that speaks: the lines placed on one voice track (`sound.voice_track`), then
    the music ducked under it (`commands.voice_over_music`), or the voice alone without music
    (`sound.voice_alone`), finished to `target`. Checks that the audio lasts the video's length."""
    with atomic_output(out.with_suffix(".voice.wav")) as track:
        run(sound.voice_track(lines, total_frames, fps, track))
        if music is not None:
            return voice_over_music(music, track, out, music_volume, voice_volume, total_frames, fps, *fades, target)
        mix = _mix_path(out)
        run(sound.voice_alone(track, mix, voice_volume, total_frames, fps))
        return _finished(mix, out, target, total_frames, fps)


def mux_final(video: Path, audio: Path | None, subtitles: Path | None, out: Path, total_frames: int) -> MediaInfo:
    """See `sound.mux_final`; checks the frame count."""
    with atomic_output(out) as tmp:
        args = sound.mux_final(video, audio, subtitles, tmp)
        run(args)
        info = _expect(probe(tmp), total_frames, args)
    return info


def compare(reference: Path, candidate: Path) -> dict[str, float]:
    """Average SSIM (all planes, 1.0 = identical) and PSNR (dB, average) of `candidate` against
    `reference`, as ffmpeg's `ssim` and `psnr` filters measure them."""
    import re

    args = commands.compare(reference, candidate)
    log = run(args)
    ssim = re.search(r"SSIM .*All:([0-9.]+)", log)
    psnr = re.search(r"PSNR .*average:([0-9.]+|inf)", log)
    if ssim is None or psnr is None:
        raise MediaError("ffmpeg printed no SSIM/PSNR summary", args, log)
    return {"ssim": float(ssim.group(1)), "psnr_db": float(psnr.group(1))}
