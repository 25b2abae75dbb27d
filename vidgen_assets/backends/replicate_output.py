"""A model's output made into what the plan asks for: images cover-fitted to the frame as PNG, music
as a WAV of exact length, speech as a mono WAV, clips as the plan's chunks (`fit_clip`)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps

from vidgen_assets.core.generation import VideoRequest
from vidgen_assets.media import ops
from vidgen_assets.media.files import atomic_output
from vidgen_assets.media.runner import run

MUSIC_RATE = 48000


def fit_image(src: Path, out: Path, width: int, height: int) -> None:
    """`src` cover-fitted to `width` x `height` (cropped, never stretched), written as PNG."""
    with Image.open(src) as opened:
        picture = opened.convert("RGB")
    if picture.size != (width, height):
        picture = ImageOps.fit(picture, (width, height), method=Image.Resampling.LANCZOS)
    with atomic_output(out) as tmp:
        picture.save(tmp, format="PNG")


def fit_clip(src: Path, out: Path, request: VideoRequest) -> None:
    """A model's clip as the plan's chunk: a bridge's whole clip retimed to exactly its frames (so it ends on
    the end image), any other clip normalised to exactly its frames at the plan's size and fps (a
    continuous chunk drops the first frame, its start image, which ends the chunk before)."""
    frame = request.frame
    if request.kind == "bridge":
        ops.retime_chunk(src, out, frame.width, frame.height, frame.fps, request.frames)
    else:
        ops.normalise_chunk(
            src, out, frame.width, frame.height, frame.fps, request.frames, drop_first=request.kind == "continuous"
        )


def music_to_wav(src: Path, out: Path, seconds: float) -> list[str]:
    """ffmpeg arguments: any audio -> 48 kHz stereo 16-bit WAV of exactly `seconds` (padded or cut)."""
    samples = round(seconds * MUSIC_RATE)
    return [
        "-i", str(src), "-vn",
        "-af", f"aresample={MUSIC_RATE},apad=whole_len={samples},atrim=end_sample={samples}",
        "-ar", str(MUSIC_RATE), "-ac", "2", "-c:a", "pcm_s16le", "-f", "wav", str(out),
    ]  # fmt: skip


def write_wav(src: Path, out: Path, seconds: float) -> None:
    with atomic_output(out) as tmp:
        run(music_to_wav(src, tmp, seconds))


def speech_to_wav(src: Path, out: Path) -> list[str]:
    """ffmpeg arguments: any speech audio (WAV, MP3) -> a mono 16-bit WAV at its own rate."""
    return ["-i", str(src), "-vn", "-ac", "1", "-c:a", "pcm_s16le", "-f", "wav", str(out)]


def write_speech_wav(src: Path, out: Path) -> None:
    with atomic_output(out) as tmp:
        run(speech_to_wav(src, tmp))
