"""ffmpeg commands built as data.

Every function here is pure: it returns the argument list that follows the ffmpeg executable (the
runner adds the executable, `-hide_banner`, `-y` and `-nostdin`). Tests assert these lists exactly.
"""

from __future__ import annotations

from pathlib import Path

# Intermediate chunks are encoded near-losslessly and fast: they are re-encoded later.
CHUNK_CRF = 16
CHUNK_PRESET = "veryfast"


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
