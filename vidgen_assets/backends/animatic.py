"""The `animatic` backend: local, free and deterministic previews.

- `image`: a storyboard card per beat (`storyboard_card.render_card`), written as PNG: the window of the
  card the beat's camera move starts on (`camera_motion.start_window`; the whole card for push_in and
  static), so that the beat's clip starts on its storyboard image exactly as drawn. The PNG carries the
  request it was drawn from (a `vidgen:card` text chunk), so the card can be drawn again at another size.
- `video`: the beat's card under the beat's camera move (`camera_motion.Move`), planned over the beat's whole
  clip so that every frame shows only the card: the card goes to ffmpeg once, as one raw frame, and
  ffmpeg's `scale` and `crop` make every frame from it (no frame is drawn in Python). A pan travels
  across the card drawn wider than the frame. A continuous chunk continues the same move over the same
  card: the previous chunk's last frame (its `source_image`) is by construction the view just before.
- `music`: a synthesised bed (`music_synth`), written as a 48 kHz stereo 16-bit WAV.
- `speech`: a voiceover line spoken by espeak-ng (`espeak`), written as a mono 16-bit WAV.

Every file is written to a temporary name next to `out` and renamed into place.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageOps, PngImagePlugin

from vidgen_assets.backends import espeak
from vidgen_assets.backends.base import Backend
from vidgen_assets.backends.bridge_motion import bridge_frames
from vidgen_assets.backends.camera_motion import Move, card_size, start_window
from vidgen_assets.backends.music_synth import synthesize, write_wav
from vidgen_assets.backends.storyboard_card import render_card
from vidgen_assets.core.generation import (
    Frame,
    Generation,
    ImageRequest,
    MusicRequest,
    ReferenceImage,
    SpeechRequest,
    VideoRequest,
)
from vidgen_assets.media import commands, runner

CARD_MODEL = "animatic-card-v2"
MOTION_MODEL = "animatic-motion-v3"
MUSIC_MODEL = "animatic-music-v1"
BRIDGE_MODEL = "animatic-bridge-v1"
CARD_KEY = "vidgen:card"
"""The PNG text chunk holding the request a card was drawn from (JSON)."""


class AnimaticBackend(Backend):
    """Storyboard cards, camera-motion chunks and a synthesised music bed, made locally for free."""

    name = "animatic"
    identity = "animatic@4"
    """What outputs are fingerprinted by: raise the number whenever the animatic draws differently, so
    that stored outputs drawn the other way are made again."""

    def __init__(self, chunk_seconds: float = 5.0) -> None:
        if chunk_seconds <= 0:
            raise ValueError(f"chunk_seconds must be positive, got {chunk_seconds}")
        self.chunk_seconds = chunk_seconds

    def image(self, request: ImageRequest, out: Path) -> Generation:
        """Write the beat's storyboard card as a PNG of `request.frame` size: the window of the card its
        camera move starts on (`camera_motion.start_window`)."""
        frame = request.frame
        size = card_size(request.camera, frame.width, frame.height)
        if size == (frame.width, frame.height):
            card = render_card(request)
        else:
            x, y = start_window(request.camera, frame.width, frame.height)
            card = render_card(request, size, x, y).crop((x, y, x + frame.width, y + frame.height))
        info = PngImagePlugin.PngInfo()
        # The video's id is left out: the same beat in two videos (a spec and its variant) is the same file.
        drawn = dataclasses.replace(request, video_id="")
        info.add_text(CARD_KEY, json.dumps(dataclasses.asdict(drawn), default=str))
        with _atomic(out, ".png") as tmp:
            card.save(tmp, format="PNG", pnginfo=info)
        return Generation(
            model=CARD_MODEL,
            seed=request.seed,
            extra={"width": str(card.width), "height": str(card.height), "camera": request.camera},
        )

    def video(self, request: VideoRequest, source_image: Path, out: Path) -> Generation:
        """Write an MP4 of exactly `request.frames` frames: frames `motion_offset` ... of the beat's move (a
        `bridge`: a camera move from `source_image` into `request.end_image`, see `bridge_motion`)."""
        if request.frames < 1:
            raise ValueError(f"a chunk needs at least one frame, got {request.frames}")
        if request.kind == "bridge":
            return draw_bridge(request, source_image, out)
        card_path = request.storyboard_image or (source_image if request.kind == "reference" else None)
        if card_path is None:
            raise ValueError("the animatic continues a beat's move over its card: the request needs storyboard_image")
        frame = request.frame
        clip = max(request.clip_frames, request.motion_offset + request.frames)
        move = Move(request.camera, frame.width, frame.height, frame.fps, clip)
        card = card_canvas(card_path, move, request.reference_images)
        with _atomic(out, ".mp4") as tmp:
            args = commands.still_motion(
                tmp, *move.card_size, frame.fps, request.frames, move.filters(request.motion_offset)
            )
            runner.run(args, stdin_chunks=[card.tobytes()])
        return Generation(
            model=MOTION_MODEL,
            seed=request.seed,
            extra={
                "camera": request.camera,
                "kind": request.kind,
                "frames": str(request.frames),
                "motion_offset": str(request.motion_offset),
                "clip_frames": str(clip),
                "card": f"{move.card_size[0]}x{move.card_size[1]}",
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


def draw_bridge(request: VideoRequest, source_image: Path, out: Path) -> Generation:
    """A bridge drawn locally: `bridge_motion.bridge_frames` from the source to the end image."""
    if request.end_image is None:
        raise ValueError("a bridge needs an end image")
    width, height, fps = request.frame.width, request.frame.height, request.frame.fps
    start, end = load_source(source_image, width, height), load_source(Path(request.end_image), width, height)
    with _atomic(out, ".mp4") as tmp:
        runner.run(
            commands.encode_raw_frames(tmp, width, height, fps),
            stdin_chunks=(frame.tobytes() for frame in bridge_frames(start, end, request.frames)),
        )
    return Generation(model=BRIDGE_MODEL, seed=request.seed, extra={"kind": "bridge", "frames": str(request.frames)})


def load_source(path: Path, width: int, height: int) -> Image.Image:
    """The image at `path` as RGB at `width` x `height` (cover-fitted when its size differs)."""
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    if image.size != (width, height):
        image = ImageOps.fit(image, (width, height), method=Image.Resampling.LANCZOS)
    return image


def card_request(path: Path) -> ImageRequest | None:
    """The request a card PNG was drawn from (see `AnimaticBackend.image`), or None for another image."""
    try:
        with Image.open(path) as opened:
            text = getattr(opened, "text", {}).get(CARD_KEY)
        if not text:
            return None
        data = json.loads(text)
        data["frame"] = Frame(**data["frame"])
        data["palette"] = tuple(data["palette"])
        data["references"] = tuple(ReferenceImage(**r) for r in data.get("references", ()))
        return ImageRequest(**data)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def card_canvas(path: Path, move: Move, references: tuple[ReferenceImage, ...] = ()) -> Image.Image:
    """The card a move travels over, at `move.card_size`: the storyboard image itself when the move
    stays at the frame's size; for a pan or a pull_out, the card drawn again that much larger, its
    storyboard image the window the move starts on (an image that carries no card request is
    cover-fitted instead: the move then travels across it enlarged).
    `references`: the beat's reference images where this process finds them (the card's request names
    the files where the storyboard was drawn, which may be another machine's)."""
    stat = path.stat()
    frame = (move.width, move.height)
    return _card_canvas(str(path), stat.st_mtime_ns, stat.st_size, move.card_size, frame, move.start_window, references)


@lru_cache(maxsize=4)
def _card_canvas(
    path: str,
    _mtime_ns: int,
    _size: int,
    canvas: tuple[int, int],
    frame: tuple[int, int],
    window: tuple[int, int],
    references: tuple[ReferenceImage, ...] = (),
) -> Image.Image:
    """Cached per file version: a beat's chunks (made one after the other in one process) share it."""
    if canvas != frame:
        request = card_request(Path(path))
        if request is not None and (request.frame.width, request.frame.height) == frame:
            if request.references and references:
                here = {r.sha256: r for r in references}
                moved = tuple(here.get(r.sha256, r) for r in request.references)
                request = dataclasses.replace(request, references=moved)
            return render_card(request, canvas, *window)
    return load_source(Path(path), *canvas)


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
