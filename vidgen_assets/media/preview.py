"""Small previews for the Dagster UI: contact sheets and poster frames as JPEG data-URI markdown."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from vidgen_assets.media.fonts import load_font

THUMB_WIDTH = 240
MAX_IMAGES = 24
JPEG_QUALITY = 70


def contact_sheet(images: Sequence[Image.Image], columns: int = 4, thumb_width: int = THUMB_WIDTH) -> Image.Image:
    """Thumbnails of `images` (at most MAX_IMAGES) in a grid, in order, on a dark background."""
    if not images:
        raise ValueError("a contact sheet needs at least one image")
    shown = list(images[:MAX_IMAGES])
    first = shown[0]
    thumb_height = max(1, round(thumb_width * first.height / first.width))
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
        draw.text((x, y + thumb_height + 2), _fit(caption, font, thumb_width), fill=(230, 230, 230), font=font)
    return sheet


def _checkerboard(size: tuple[int, int], square: int = 8) -> Image.Image:
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    light = ((x // square + y // square) % 2).astype(bool)
    pixels = np.where(light[..., None], np.uint8(200), np.uint8(150)).repeat(3, axis=-1)
    alpha = np.full((size[1], size[0], 1), 255, np.uint8)
    return Image.fromarray(np.concatenate([pixels, alpha], axis=-1), "RGBA")


def _fit(text: str, font: object, width: int) -> str:
    measure = getattr(font, "getlength", None)
    if measure is None:
        return text
    while text and measure(text) > width:
        text = text[:-2] + "…" if len(text) > 2 else ""
    return text


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
    images = []
    for path in paths[:MAX_IMAGES]:
        with Image.open(path) as image:
            images.append(image.copy())
    return as_markdown(contact_sheet(images, columns), alt)


def frames_markdown(frames: Sequence[npt.NDArray[np.uint8]], alt: str, columns: int = 4) -> str:
    return as_markdown(contact_sheet([Image.fromarray(f) for f in frames], columns), alt)
