"""Tiny test media made with numpy: solid-colour clips whose top band encodes the frame number."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vidgen_assets.media import ops
from vidgen_assets.media.probe import MediaInfo

Frame = npt.NDArray[np.uint8]
BAND = 16  # rows at the top of each frame that carry the frame number
WIDTH, HEIGHT = 160, 90

RED = (220, 20, 20)
BLUE = (20, 20, 220)
GREEN = (20, 200, 20)
YELLOW = (220, 220, 20)


def band_value(index: int) -> int:
    """The grey level of frame `index`'s band: distinct for 256 frames, far apart for neighbours."""
    return (index * 37) % 256


def pattern_frame(index: int, colour: tuple[int, int, int], width: int = WIDTH, height: int = HEIGHT) -> Frame:
    frame = np.empty((height, width, 3), np.uint8)
    frame[:] = colour
    frame[:BAND] = band_value(index)
    return frame


def make_clip(
    path: Path,
    frames: int,
    fps: int,
    colour: tuple[int, int, int],
    width: int = WIDTH,
    height: int = HEIGHT,
    first_index: int = 0,
) -> MediaInfo:
    """A clip of `frames` frames numbered from `first_index` in its band."""
    pictures = (pattern_frame(first_index + i, colour, width, height) for i in range(frames))
    return ops.encode_frames(pictures, path, width, height, fps)


def band(frame: Frame) -> float:
    """The mean grey level of a decoded frame's band (away from its edge)."""
    return float(frame[2 : BAND - 4].mean())


def body(frame: Frame) -> npt.NDArray[np.float64]:
    """The mean RGB colour below the band."""
    return np.asarray(frame[BAND + 4 :].reshape(-1, 3).mean(axis=0), dtype=np.float64)


def write_wav(path: Path, seconds: float, rate: int = 44100, channels: int = 1) -> Path:
    """A 440 Hz sine as 16-bit PCM."""
    t = np.arange(round(seconds * rate)) / rate
    mono = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    samples = np.repeat(mono, channels)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def top_level_boxes(path: Path) -> list[str]:
    """The types of an MP4's top-level boxes, in file order."""
    boxes: list[str] = []
    data = path.read_bytes()
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        elif size == 0:
            size = len(data) - pos
        boxes.append(kind)
        if size < 8:
            break
        pos += size
    return boxes
