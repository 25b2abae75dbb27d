"""Reference images on a storyboard card: the real product (person, logo) where the shot's subject sits.

The animatic draws a simple figure as each card's subject. A beat that uses references shows them there
instead, standing on the subject's ground line, side by side when there are several: cut out along their
alpha when they have transparency, else as a photo with a thin border and a soft shadow. The card is then
animated as usual, so the camera moves carry the reference.
"""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageFilter

from vidgen_assets.core.generation import ReferenceImage

Box = tuple[int, int, int, int]
"""(left, top, right, bottom) in pixels."""

HEIGHT_SHARE = 0.48
"""The references' height, as a share of the frame's short side."""
GROUP_WIDTH_SHARE = 0.62
"""All references side by side take at most this share of the card's width."""
GAP_SHARE = 0.03
BORDER_SHARE = 0.008
RESAMPLE = Image.Resampling.LANCZOS


def load_reference(path: str) -> Image.Image:
    """The reference as RGBA (its own alpha, or fully opaque)."""
    with Image.open(path) as image:
        return image.convert("RGBA")


def is_cut_out(image: Image.Image) -> bool:
    """Whether any pixel is transparent (an all-opaque alpha channel cuts nothing out)."""
    low = image.getchannel("A").getextrema()[0]
    return isinstance(low, int) and low < 255


def reference_boxes(sizes: Sequence[tuple[int, int]], subject: Box, card: tuple[int, int], short: int) -> list[Box]:
    """Where each reference goes: scaled to a common height (narrower when the group would be too wide),
    standing on the subject's base, the group centred on the subject and kept inside the card."""
    if not sizes:
        return []
    card_w, card_h = card
    gap = max(2, round(short * GAP_SHARE))
    base = subject[3]
    height = max(8, min(round(short * HEIGHT_SHARE), base - round(short * 0.08)))
    widths = [max(1, round(w * height / h)) for w, h in sizes]
    room = max(8, round(card_w * GROUP_WIDTH_SHARE) - gap * (len(sizes) - 1))
    scale = min(1.0, room / sum(widths))
    scaled = [(max(1, round(w * scale)), max(1, round(height * scale))) for w in widths]
    total = sum(w for w, _ in scaled) + gap * (len(scaled) - 1)
    centre = (subject[0] + subject[2]) // 2
    left = min(max(gap, centre - total // 2), max(0, card_w - gap - total))
    boxes = []
    for w, h in scaled:
        top = min(base, card_h) - h
        boxes.append((left, top, left + w, top + h))
        left += w + gap
    return boxes


def composite_references(
    card: Image.Image, references: Sequence[ReferenceImage], subject: Box, short: int
) -> Image.Image:
    """`card` (RGBA) with each reference placed where the subject sits; the card itself when there are none."""
    if not references:
        return card
    images = [load_reference(ref.path) for ref in references]
    boxes = reference_boxes([im.size for im in images], subject, card.size, short)
    out = card.copy()
    border = max(1, round(short * BORDER_SHARE))
    for image, box in zip(images, boxes, strict=True):
        size = (box[2] - box[0], box[3] - box[1])
        picture = image.resize(size, RESAMPLE)
        cut_out = is_cut_out(image)
        mask = picture.getchannel("A") if cut_out else Image.new("L", size, 255)
        out.alpha_composite(_shadow(mask, card.size, box, border * 3), (0, 0))
        if not cut_out:
            frame = Image.new("RGBA", (size[0] + 2 * border, size[1] + 2 * border), (250, 250, 250, 255))
            out.alpha_composite(frame, (box[0] - border, box[1] - border))
        out.alpha_composite(picture if cut_out else picture.convert("RGB").convert("RGBA"), (box[0], box[1]))
    return out


def _shadow(mask: Image.Image, card: tuple[int, int], box: Box, blur: int) -> Image.Image:
    """A soft dark shadow of the reference's outline, offset down and right."""
    layer = Image.new("L", card, 0)
    layer.paste(mask.point(lambda a: a * 100 // 255), (box[0] + blur, box[1] + blur))
    shadow = Image.new("RGBA", card, (0, 0, 0, 0))
    shadow.putalpha(layer.filter(ImageFilter.GaussianBlur(blur)))
    return shadow
