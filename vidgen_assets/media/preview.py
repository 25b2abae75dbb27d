"""Small previews for the Dagster UI: contact sheets and poster frames as JPEG data-URI markdown."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

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


def as_markdown(image: Image.Image, alt: str) -> str:
    """The image as markdown with an embedded JPEG (the Dagster UI renders it in the metadata panel)."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"![{alt}](data:image/jpeg;base64,{data})"


def sheet_markdown(paths: Sequence[Path], alt: str, columns: int = 4) -> str:
    images = []
    for path in paths[:MAX_IMAGES]:
        with Image.open(path) as image:
            images.append(image.copy())
    return as_markdown(contact_sheet(images, columns), alt)


def frames_markdown(frames: Sequence[npt.NDArray[np.uint8]], alt: str, columns: int = 4) -> str:
    return as_markdown(contact_sheet([Image.fromarray(f) for f in frames], columns), alt)
