import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidgen_assets.media import preview


def colour(rgb, size=(320, 180)):
    return Image.new("RGB", size, rgb)


def test_contact_sheet_places_thumbnails_in_order():
    sheet = preview.contact_sheet(
        [colour((255, 0, 0)), colour((0, 255, 0)), colour((0, 0, 255))], columns=2, thumb_width=100
    )
    # 2 columns x 2 rows of 100x56 thumbnails with 4 px gaps.
    assert sheet.size == (2 * 104 + 4, 2 * 60 + 4)
    assert sheet.getpixel((4 + 50, 4 + 28)) == (255, 0, 0)
    assert sheet.getpixel((108 + 50, 4 + 28)) == (0, 255, 0)
    assert sheet.getpixel((4 + 50, 64 + 28)) == (0, 0, 255)
    assert sheet.getpixel((108 + 50, 64 + 28)) == (24, 24, 24)


def test_contact_sheet_caps_the_number_of_images():
    sheet = preview.contact_sheet([colour((i, i, i), (40, 40)) for i in range(100)], columns=4, thumb_width=10)
    assert sheet.size == (4 * 14 + 4, 6 * 14 + 4)  # 24 images


def test_contact_sheet_needs_an_image():
    with pytest.raises(ValueError, match="at least one image"):
        preview.contact_sheet([])


def test_markdown_embeds_a_decodable_jpeg():
    md = preview.frames_markdown([np.full((90, 160, 3), 200, np.uint8)], "poster")
    assert md.startswith("![poster](data:image/jpeg;base64,")
    data = base64.b64decode(md[len("![poster](data:image/jpeg;base64,") : -1])
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        assert image.size == (1 * 244 + 4, 135 + 8)


def test_frames_at_seeks_to_the_exact_frames(tmp_path: Path) -> None:
    """Posters are found by seeking, and are exactly the frames asked for (in any order, repeated)."""
    from vidgen_assets.media import ops, probe
    from vidgen_assets.media.preview import frames_at

    frames = [np.full((36, 64, 3), 8 * i, dtype=np.uint8) for i in range(30)]
    video = tmp_path / "v.mp4"
    ops.encode_frames(frames, video, 64, 36, 24)
    wanted = [0, 7, 15, 29, 15]
    assert [int(f.mean()) for f in frames_at(video, wanted)] == [
        int(f.mean()) for f in probe.read_frames(video, wanted)
    ]
    assert all(abs(int(f.mean()) - 8 * i) <= 3 for f, i in zip(frames_at(video, wanted), wanted, strict=True))
