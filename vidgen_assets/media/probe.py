"""Probing and decoding with PyAV (the bundled ffmpeg has no ffprobe).

Frame counts are exact (counted from the demuxed video packets), and `last_frame` decodes to the end of
the stream: ffmpeg's `-sseof` would return the second-to-last frame.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from PIL import Image

from vidgen_assets.media.files import atomic_output
from vidgen_assets.media.runner import MediaError

RGBFrame = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class MediaInfo:
    """What a media file holds. Video fields are 0 / None for an audio-only file."""

    width: int
    height: int
    fps: Fraction
    frames: int
    duration_s: float
    video_codec: str | None
    pix_fmt: str | None
    has_audio: bool
    audio_codec: str | None
    audio_duration_s: float | None
    audio_sample_rate: int | None

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[Any]:
    """An open PyAV input container; any read failure becomes a `MediaError` naming `path`."""
    command = ["pyav", "open", str(path)]
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"cannot open media file {path}: {exc}", command, str(exc)) from exc
    try:
        with container:
            yield container
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"cannot read media file {path}: {exc}", command, str(exc)) from exc


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def video_headers(path: Path) -> bytes:
    """The video stream's codec headers as the container declares them (for H.264 in MP4, the `avcC`
    box: SPS and PPS). Empty when there are none."""
    with _opened(path) as container:
        if not container.streams.video:
            return b""
        return bytes(container.streams.video[0].codec_context.extradata or b"")


def probe(path: Path) -> MediaInfo:
    """Describe `path`: size, exact frame count, frame rate, codecs and durations."""
    with _opened(path) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise MediaError(f"no audio or video stream in {path}", ["pyav", "probe", str(path)])
        container_s = container.duration / 1_000_000 if container.duration is not None else None
        frames = 0
        if video is not None:
            frames = sum(1 for packet in container.demux(video) if packet.size > 0)
            rate = video.average_rate or video.guessed_rate or video.base_rate
            fps = Fraction(rate) if rate else Fraction(0)
            duration = _seconds(video.duration, video.time_base)
            if duration is None:
                duration = float(frames / fps) if fps else (container_s or 0.0)
        else:
            fps = Fraction(0)
            duration = container_s or 0.0
        audio_duration = None
        if audio is not None:
            audio_duration = _seconds(audio.duration, audio.time_base) or container_s
        return MediaInfo(
            width=int(video.codec_context.width) if video is not None else 0,
            height=int(video.codec_context.height) if video is not None else 0,
            fps=fps,
            frames=frames,
            duration_s=float(duration),
            video_codec=str(video.codec_context.name) if video is not None else None,
            pix_fmt=str(video.codec_context.pix_fmt) if video is not None else None,
            has_audio=audio is not None,
            audio_codec=str(audio.codec_context.name) if audio is not None else None,
            audio_duration_s=audio_duration,
            audio_sample_rate=int(audio.codec_context.sample_rate) if audio is not None else None,
        )


def _video_stream(container: Any, path: Path) -> Any:
    if not container.streams.video:
        raise MediaError(f"no video stream in {path}", ["pyav", "decode", str(path)])
    return container.streams.video[0]


def _rgb(frame: Any) -> RGBFrame:
    array: RGBFrame = frame.to_ndarray(format="rgb24")
    return array


def _decode_last(path: Path) -> RGBFrame:
    with _opened(path) as container:
        stream = _video_stream(container, path)
        last = None
        if stream.duration is not None:
            # Jump to the keyframe before the end, then decode to the end of the stream.
            start = stream.start_time or 0
            container.seek(start + stream.duration, stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                last = frame
        if last is None:
            container.seek(0)
            for frame in container.decode(stream):
                last = frame
        if last is None:
            raise MediaError(f"no decodable video frame in {path}", ["pyav", "decode", str(path)])
        return _rgb(last)


def last_frame(video: Path, out_png: Path) -> Path:
    """Write the exact last decoded frame of `video` to `out_png` (RGB PNG, atomically); return it."""
    pixels = _decode_last(video)
    with atomic_output(out_png) as tmp:
        Image.fromarray(pixels, mode="RGB").save(tmp, format="PNG")
    return out_png


def read_frames(video: Path, indices: Sequence[int]) -> list[RGBFrame]:
    """The decoded frames at `indices` (0-based, any order, repeats allowed) as RGB arrays."""
    if any(i < 0 for i in indices):
        raise ValueError(f"frame indices must be >= 0, got {list(indices)}")
    wanted = set(indices)
    found: dict[int, RGBFrame] = {}
    if wanted:
        with _opened(video) as container:
            stream = _video_stream(container, video)
            for n, frame in enumerate(container.decode(stream)):
                if n in wanted:
                    found[n] = _rgb(frame)
                    if len(found) == len(wanted):
                        break
    missing = sorted(wanted - found.keys())
    if missing:
        raise MediaError(f"{video} has no frames {missing}", ["pyav", "decode", str(video)])
    return [found[i] for i in indices]
