"""The one small interface every generation backend implements."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from vidgen_assets.core.generation import Generation, ImageRequest, MusicRequest, SpeechRequest, VideoRequest


class Backend(Protocol):
    """Makes images, chunks, speech and music. Every method writes exactly one file at `out` and reports it."""

    name: str
    chunk_seconds: float
    """The video model's native chunk length; the planner lays chunks out with it."""

    def image(self, request: ImageRequest, out: Path) -> Generation:
        """Write a PNG of `request.frame` size to `out`."""
        ...

    def video(self, request: VideoRequest, source_image: Path, out: Path) -> Generation:
        """Write an MP4 of exactly `request.frames` frames at the request's size and fps to `out`.

        A `bridge` request also carries `end_image`: the clip ends on that picture.
        """
        ...

    def speech(self, request: SpeechRequest, out: Path) -> Generation:
        """Write a mono WAV of `request.text` spoken in `request.voice` at `request.speed` to `out`.

        The caller measures it and fits it into `request.max_seconds` (`core.voice`).
        """
        ...

    def music(self, request: MusicRequest, out: Path) -> Generation:
        """Write an audio file (its suffix chosen by the caller's `out`) of `request.seconds` to `out`."""
        ...
