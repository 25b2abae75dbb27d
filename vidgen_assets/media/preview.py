"""Small previews for the Dagster UI: contact sheets and poster frames as JPEG data-URI markdown.

A preview never fails a render: an image that cannot be read is drawn as a grey tile, and `safe`
turns any preview that still cannot be drawn into a warning (logged) and a line of markdown saying so.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Protocol

import av
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from vidgen_assets.core.text import fit
from vidgen_assets.media.fonts import load_font, text_width

THUMB_WIDTH = 240
MAX_IMAGES = 24
JPEG_QUALITY = 70
MISSING = (90, 90, 90)
"""The tile drawn for an image that cannot be read."""


def contact_sheet(images: Sequence[Image.Image], columns: int = 4, thumb_width: int = THUMB_WIDTH) -> Image.Image:
    """Thumbnails of `images` (at most MAX_IMAGES) in a grid, in order, on a dark background."""
    if not images:
        raise ValueError("a contact sheet needs at least one image")
    shown = list(images[:MAX_IMAGES])
    first = shown[0]
    thumb_width = max(1, thumb_width)
    thumb_height = max(1, min(4 * thumb_width, round(thumb_width * max(1, first.height) / max(1, first.width))))
    columns = max(1, min(columns, len(shown)))
    rows = -(-len(shown) // columns)
    gap = 4
    sheet = Image.new("RGB", (columns * (thumb_width + gap) + gap, rows * (thumb_height + gap) + gap), (24, 24, 24))
    for i, image in enumerate(shown):
        thumb = image.convert("RGB").resize((thumb_width, thumb_height), Image.Resampling.BILINEAR)
        sheet.paste(thumb, (gap + (i % columns) * (thumb_width + gap), gap + (i // columns) * (thumb_height + gap)))
    return sheet


def storyboard_sheet(
    beats: Sequence[tuple[Image.Image, str]],
    references: Sequence[tuple[Image.Image, str]] = (),
    columns: int = 4,
    thumb_width: int = THUMB_WIDTH,
) -> Image.Image:
    """The storyboard as one picture: a row of the reference images (on a checkerboard, so transparency
    shows), then each beat's image, every thumbnail captioned (a beat with the references it uses)."""
    if not beats:
        raise ValueError("a contact sheet needs at least one image")
    shown = list(beats[:MAX_IMAGES])
    first = shown[0][0]
    thumb_height = max(1, round(thumb_width * first.height / first.width))
    font = load_font(13)
    gap, label = 6, 20
    columns = max(1, min(columns, len(shown)))
    rows = -(-len(shown) // columns)
    cell_w, cell_h = thumb_width + gap, thumb_height + label + gap
    ref_h = min(thumb_height, 160) if references else 0
    top = (ref_h + label + 2 * gap + label) if references else 0
    width = max(columns * cell_w + gap, len(references) * (ref_h + gap) + gap if references else 0)
    sheet = Image.new("RGB", (width, top + rows * cell_h + gap), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    if references:
        draw.text((gap, gap), "references", fill=(230, 230, 230), font=font)
        x = gap
        for image, caption in references:
            thumb = image.convert("RGBA")
            thumb.thumbnail((ref_h * 2, ref_h))
            board = _checkerboard(thumb.size)
            board.alpha_composite(thumb)
            sheet.paste(board.convert("RGB"), (x, gap + label))
            draw.text((x, gap + label + ref_h + 2), caption, fill=(230, 230, 230), font=font)
            x += thumb.width + gap
    for i, (image, caption) in enumerate(shown):
        x = gap + (i % columns) * cell_w
        y = top + gap + (i // columns) * cell_h
        sheet.paste(image.convert("RGB").resize((thumb_width, thumb_height), Image.Resampling.BILINEAR), (x, y))
        caption = fit(caption, partial(text_width, font), thumb_width)
        draw.text((x, y + thumb_height + 2), caption, fill=(230, 230, 230), font=font)
    return sheet


def _checkerboard(size: tuple[int, int], square: int = 8) -> Image.Image:
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    light = ((x // square + y // square) % 2).astype(bool)
    pixels = np.where(light[..., None], np.uint8(200), np.uint8(150)).repeat(3, axis=-1)
    alpha = np.full((size[1], size[0], 1), 255, np.uint8)
    return Image.fromarray(np.concatenate([pixels, alpha], axis=-1), "RGBA")


def as_markdown(image: Image.Image, alt: str) -> str:
    """The image as markdown with an embedded JPEG (the Dagster UI renders it in the metadata panel)."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"![{alt}](data:image/jpeg;base64,{data})"


def png_markdown(png: bytes, alt: str) -> str:
    """PNG bytes shown as markdown (re-encoded as a small JPEG)."""
    with Image.open(io.BytesIO(png)) as image:
        return as_markdown(image.copy(), alt)


def sheet_markdown(paths: Sequence[Path], alt: str, columns: int = 4) -> str:
    """A contact sheet of the images at `paths`; one that cannot be read is a grey tile."""
    images = []
    for path in paths[:MAX_IMAGES]:
        try:
            with Image.open(path) as image:
                image.load()
                images.append(image.copy())
        except (OSError, ValueError, Image.DecompressionBombError):
            images.append(Image.new("RGB", images[0].size if images else (16, 9), MISSING))
    return as_markdown(contact_sheet(images, columns), alt)


def frames_at(video: Path, indices: Sequence[int]) -> list[npt.NDArray[np.uint8]]:
    """The frames at `indices` of a constant-frame-rate video, as RGB arrays, each reached by seeking to
    the keyframe before it: a poster costs a few frames of decoding, not the video up to it."""
    out: list[npt.NDArray[np.uint8]] = []
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        rate, base = stream.average_rate, stream.time_base
        if not rate or base is None:
            raise ValueError(f"{video.name} has no constant frame rate to seek by")
        start = stream.start_time or 0
        for index in indices:
            target = start + int(index / rate / base)
            half = int(0.5 / rate / base)
            container.seek(target, stream=stream, backward=True, any_frame=False)
            found: npt.NDArray[np.uint8] | None = None
            for frame in container.decode(stream):
                if frame.pts is not None and frame.pts >= target - half:
                    found = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
                    break
            if found is None:
                raise ValueError(f"{video.name} has no frame {index}")
            out.append(found)
    return out


def frames_markdown(frames: Sequence[npt.NDArray[np.uint8]], alt: str, columns: int = 4) -> str:
    return as_markdown(contact_sheet([Image.fromarray(f) for f in frames], columns), alt)


class Warns(Protocol):
    """Anything with a `warning` method: a `logging.Logger`, Dagster's `context.log`."""

    def warning(self, msg: str) -> object: ...


def safe(draw: Callable[[], str], what: str, log: Warns | None = None) -> str:
    """`draw()`, or, when it raises, a markdown line saying that `what` could not be drawn and why (and a
    warning on `log`): a preview never fails the stage that shows it."""
    try:
        return draw()
    except Exception as exc:  # a preview is a courtesy: whatever went wrong, the stage goes on
        message = f"{what} could not be drawn: {type(exc).__name__}: {exc}"
        (log or logging.getLogger(__name__)).warning(message)
        return f"*{message}*"
