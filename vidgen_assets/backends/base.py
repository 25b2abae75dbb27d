"""The one small interface every generation backend implements.

Besides its four makers, a backend declares what it can do as members of `Backend` (defaults here, so
a backend class that subclasses it states only where it differs): the stages use them directly.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from vidgen_assets.core.generation import Generation, ImageRequest, MusicRequest, SpeechRequest, VideoRequest


class Backend(Protocol):
    """Makes images, chunks, speech and music. Every method writes exactly one file at `out` and reports it."""

    name: str
    chunk_seconds: float
    """The video model's native chunk length; the planner lays chunks out with it."""
    identity: str
    """What outputs are fingerprinted by: the backend and what makes them (its models or workflows)."""
    reference_identity: str = ""
    """What the fingerprints of outputs that use reference images add (the model or workflow that
    composes them; empty: the backend's own drawing)."""
    speech_identity: str | None = None
    """What a voice line is fingerprinted by; None: the spec's speech model (`voiceover.speech_identity`)."""
    max_concurrency: int = 1
    """How many storyboard images (and voice lines) it makes at once."""
    ask_llm: Callable[[str, str], tuple[str, str]] | None = None
    """The beat planner's language model (`core.planner`: system and user prompt in, reply and model id
    out); None: the library plan stands."""

    def start_render(self) -> None:
        """Called once before any work of a render (a pool of servers is asked whether it answers)."""
        return None

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
