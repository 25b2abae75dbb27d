"""The `animatic` backend: local, free and deterministic previews.

- `image`: a storyboard card per beat (`storyboard_card.render_card`), written as PNG.
- `video`: the source image under the beat's camera motion (`camera_motion`), rendered frame by frame with
  Pillow (an axis-aligned affine resample: `Image.resize(box=...)`, bicubic, sub-pixel exact) and streamed
  as raw rgb24 to ffmpeg. Pixels a move needs from outside the source are filled by mirroring its edges.
- `music`: a synthesised bed (`music_synth`), written as a 48 kHz stereo 16-bit WAV.
- `speech`: a voiceover line spoken by espeak-ng (`espeak`), written as a mono 16-bit WAV.

Every file is written to a temporary name next to `out` and renamed into place.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from vidgen_assets.backends import espeak
from vidgen_assets.backends.camera_motion import IDENTITY, Affine, chunk_affines, padding_for
from vidgen_assets.backends.music_synth import synthesize, write_wav
from vidgen_assets.backends.storyboard_card import render_card
from vidgen_assets.core.generation import Generation, ImageRequest, MusicRequest, SpeechRequest, VideoRequest
from vidgen_assets.media import commands, runner

CARD_MODEL = "animatic-card-v1"
MOTION_MODEL = "animatic-motion-v1"
MUSIC_MODEL = "animatic-music-v1"
RESAMPLE = Image.Resampling.BICUBIC
RENDER_THREADS = 2
RENDER_AHEAD = 4
BORDER_DIM = 0.62
"""Off-card pixels (revealed by a pull-out or pan) are a blurred mirror of the edges at this brightness."""


class AnimaticBackend:
    """Storyboard cards, camera-motion chunks and a synthesised music bed, made locally for free."""

    name = "animatic"

    def __init__(self, chunk_seconds: float = 5.0) -> None:
        if chunk_seconds <= 0:
            raise ValueError(f"chunk_seconds must be positive, got {chunk_seconds}")
        self.chunk_seconds = chunk_seconds

    def image(self, request: ImageRequest, out: Path) -> Generation:
        """Write the beat's storyboard card as a PNG of `request.frame` size."""
        card = render_card(request)
        with _atomic(out, ".png") as tmp:
            card.save(tmp, format="PNG")
        return Generation(
            model=CARD_MODEL,
            seed=request.seed,
            extra={"width": str(card.width), "height": str(card.height), "camera": request.camera},
        )

    def video(self, request: VideoRequest, source_image: Path, out: Path) -> Generation:
        """Write an MP4 of exactly `request.frames` frames: `source_image` under the beat's camera motion."""
        if request.frames < 1:
            raise ValueError(f"a chunk needs at least one frame, got {request.frames}")
        width, height, fps = request.frame.width, request.frame.height, request.frame.fps
        affines = chunk_affines(request.camera, request.kind, request.motion_offset, request.frames, width, height, fps)
        source = load_source(source_image, width, height)
        with _atomic(out, ".mp4") as tmp:
            runner.run(
                commands.encode_raw_frames(tmp, width, height, fps),
                stdin_chunks=render_frames(source, affines),
            )
        return Generation(
            model=MOTION_MODEL,
            seed=request.seed,
            extra={
                "camera": request.camera,
                "kind": request.kind,
                "frames": str(request.frames),
                "motion_offset": str(request.motion_offset),
            },
        )

    def speech(self, request: SpeechRequest, out: Path) -> Generation:
        """Write `request.text` spoken by espeak-ng in `request.voice` as a mono 16-bit WAV (22.05 kHz);
        `extra["words"]` holds each word's start (s), from the engine's word events."""
        speech = espeak.synthesize(request.text, request.voice, request.speed)
        with _atomic(out, ".wav") as tmp:
            speech.write_wav(tmp)
        words = [[w.text, round(w.start_s, 3)] for w in speech.words]
        return Generation(
            model=espeak.ENGINE,
            seed=request.seed,
            extra={"voice": espeak.voice_label(request.voice), "words": json.dumps(words)},
        )

    def music(self, request: MusicRequest, out: Path) -> Generation:
        """Write a music bed of exactly `request.seconds` seconds as a 48 kHz stereo 16-bit WAV."""
        if out.suffix.lower() != ".wav":
            raise ValueError(f"the animatic backend writes WAV music; got {out.name!r}")
        samples, description = synthesize(request.mood, request.bpm, request.seconds, request.seed)
        write_wav(samples, out)
        return Generation(model=MUSIC_MODEL, seed=request.seed, extra=description)


def load_source(path: Path, width: int, height: int) -> Image.Image:
    """The source image as RGB at `width` x `height` (cover-fitted when its size differs)."""
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    if image.size != (width, height):
        image = ImageOps.fit(image, (width, height), method=Image.Resampling.LANCZOS)
    return image


def render_frames(source: Image.Image, affines: Sequence[Affine]) -> Iterator[bytes]:
    """rgb24 bytes of each frame: `source` resampled through each affine (output -> source pixels).

    The source is padded once (`pad_source`) as far as the affines reach outside it.
    """
    width, height = source.size
    left, top, right, bottom = padding_for(affines, width, height)
    padded = pad_source(source, left, top, right, bottom)
    identity = source.tobytes() if IDENTITY in affines else b""

    def render(affine: Affine) -> bytes:
        if affine == IDENTITY:
            return identity
        x0, y0, x1, y1 = affine.box(width, height)
        box = _inside((x0 + left, y0 + top, x1 + left, y1 + top), padded.size)
        return padded.resize((width, height), RESAMPLE, box=box).tobytes()

    yield from _prefetch(render, affines)


def pad_source(source: Image.Image, left: int, top: int, right: int, bottom: int) -> Image.Image:
    """`source` with a border filled by its mirrored edges, blurred and dimmed so it reads as off-card.

    The source's own pixels are unchanged; a pull-out or pan shows the border where it leaves the card.
    """
    if not (left or top or right or bottom):
        return source
    pixels = np.asarray(source)
    mirrored = Image.fromarray(np.pad(pixels, ((top, bottom), (left, right), (0, 0)), mode="symmetric"), "RGB")
    radius = max(2.0, min(source.size) / 40)
    border = mirrored.filter(ImageFilter.GaussianBlur(radius)).point(lambda v: round(v * BORDER_DIM))
    border.paste(source, (left, top))
    return border


def _prefetch(render: Callable[[Affine], bytes], affines: Sequence[Affine]) -> Iterator[bytes]:
    """`render` over `affines` in order, a few frames ahead on worker threads (Pillow releases the GIL),
    so rendering overlaps itself and the consumer's writes to ffmpeg."""
    with ThreadPoolExecutor(max_workers=RENDER_THREADS) as pool:
        pending: deque[Future[bytes]] = deque()
        queue = iter(affines)
        for affine in islice(queue, RENDER_AHEAD):
            pending.append(pool.submit(render, affine))
        while pending:
            frame = pending.popleft().result()
            following = next(queue, None)
            if following is not None:
                pending.append(pool.submit(render, following))
            yield frame


def _inside(box: tuple[float, float, float, float], size: tuple[int, int]) -> tuple[float, float, float, float]:
    """Clamp float noise so Pillow accepts the box (the padding already covers the real reach)."""
    w, h = size
    x0, y0, x1, y1 = box
    return (max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1))


@contextmanager
def _atomic(out: Path, suffix: str) -> Iterator[Path]:
    """Yield a temporary path next to `out`; on success rename it to `out`, on failure remove it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}.", suffix=".tmp" + suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)
