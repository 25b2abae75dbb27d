"""What a backend is asked to make, and what it reports back. Pure data, shared by every backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from vidgen_assets.core.spec import Camera

__all__ = [
    "Camera", "ChunkKind", "Frame", "Generation", "ImageRequest", "MusicRequest", "ReferenceImage",
    "SpeechRequest", "VideoRequest",
]  # fmt: skip

ChunkKind = Literal["reference", "continuous", "bridge"]
"""`bridge`: a clip from one beat's last frame to the next beat's storyboard image (`end_image`)."""


@dataclass(frozen=True)
class ReferenceImage:
    """A reference image handed to a backend: a local file, its sha256 (every cache key uses it), its words."""

    name: str
    path: str
    sha256: str
    describe: str | None = None


@dataclass(frozen=True)
class Frame:
    """Output geometry: every artifact of one video shares it."""

    width: int
    height: int
    fps: int


@dataclass(frozen=True)
class ImageRequest:
    """One storyboard image for one beat."""

    video_id: str
    beat_index: int
    beat_count: int
    beat_name: str
    prompt: str
    camera: Camera
    start_frame: int
    end_frame: int
    frame: Frame
    palette: tuple[str, ...]
    aesthetic: str
    seed: int
    references: tuple[ReferenceImage, ...] = ()
    """What this beat shows: composited by the animatic, input images for a reference-capable model."""
    captions_burnt: bool = False
    """The beat's spoken line is burnt into the picture at the bottom (`subtitles: burn`): the animatic's
    card then draws its prompt panel under its header, not where the caption goes."""


@dataclass(frozen=True)
class VideoRequest:
    """One chunk: `frames` frames made from `source_image`.

    A reference-image chunk starts from the beat's storyboard image; a continuous chunk starts from the
    exact last frame of the previous chunk of the same beat and carries its motion on. `motion_offset` is
    how many frames of this beat's camera motion came before this chunk, so motion never restarts.
    The source image itself is never repeated as an output frame of a continuous chunk.

    `clip_frames` is the length of the beat's whole clip (0: unknown, taken as the end of this chunk) and
    `storyboard_image` the beat's storyboard image: a backend that plans its motion over the whole clip
    (the animatic) needs both; a video model starts from `source_image` only.
    """

    video_id: str
    chunk_index: int
    beat_index: int
    kind: ChunkKind
    prompt: str
    camera: Camera
    frames: int
    motion_offset: int
    frame: Frame
    seed: int
    clip_frames: int = 0
    storyboard_image: Path | None = None
    reference_images: tuple[ReferenceImage, ...] = ()
    """For video models with a reference-image input."""
    end_image: str | None = None
    """A bridge's last frame (the incoming beat's storyboard image), for models with an end-frame input."""


@dataclass(frozen=True)
class SpeechRequest:
    """One voiceover line. The backend writes a WAV; the caller measures it and fits it to `max_seconds`."""

    video_id: str
    beat_index: int
    text: str
    voice: str
    speed: float
    max_seconds: float
    seed: int


@dataclass(frozen=True)
class MusicRequest:
    """A music bed of exactly `seconds` seconds."""

    video_id: str
    mood: str
    bpm: int
    seconds: float
    seed: int


@dataclass(frozen=True)
class Generation:
    """What a backend reports for one artifact it made."""

    model: str
    seed: int
    cost_usd: float = 0.0
    cache_hit: bool = False
    extra: dict[str, str] = field(default_factory=dict)
