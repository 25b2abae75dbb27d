"""The animatic shows a beat's references on its storyboard card, and its camera moves carry them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from vidgen_assets import stages
from vidgen_assets.backends.animatic import AnimaticBackend
from vidgen_assets.backends.reference_composite import reference_boxes
from vidgen_assets.backends.storyboard_card import render_card
from vidgen_assets.core.generation import Frame, ImageRequest, ReferenceImage
from vidgen_assets.core.planner import plan_spec
from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.media import probe
from vidgen_assets.references import read_local_references, store_references, stored_references, with_references
from vidgen_assets.storage import layout
from vidgen_assets.storage.store import LocalStore

GREEN = (0, 255, 0)
MAGENTA = (255, 0, 255)
BLUE = (0, 0, 255)


def cut_out_reference(path: Path) -> Path:
    """A green bottle on transparent pixels whose colour is magenta: magenta on the card means no cut-out."""
    pixels = np.zeros((400, 300, 4), np.uint8)
    pixels[..., :3] = MAGENTA
    pixels[60:380, 80:220] = (*GREEN, 255)
    Image.fromarray(pixels, "RGBA").save(path)
    return path


def opaque_reference(path: Path) -> Path:
    Image.new("RGB", (320, 320), BLUE).save(path)
    return path


def near(pixels: npt.NDArray[np.uint8], colour: tuple[int, int, int], tolerance: int = 40) -> npt.NDArray[np.bool_]:
    found: npt.NDArray[np.bool_] = np.all(np.abs(pixels[..., :3].astype(int) - colour) <= tolerance, axis=-1)
    return found


def card(references: tuple[ReferenceImage, ...], width: int = 854, height: int = 480) -> npt.NDArray[np.uint8]:
    request = ImageRequest(
        video_id="ad", beat_index=0, beat_count=2, beat_name="hero", prompt="a bottle", camera="static",
        start_frame=0, end_frame=120, frame=Frame(width, height, 24), palette=(), aesthetic="", seed=0,
        references=references,
    )  # fmt: skip
    return np.asarray(render_card(request))


def ref(name: str, path: Path) -> ReferenceImage:
    return ReferenceImage(name=name, path=str(path), sha256="0" * 64)


def test_the_card_shows_a_cut_out_reference_where_the_subject_stands(tmp_path):
    plain = card(())
    shown = card((ref("product", cut_out_reference(tmp_path / "p.png")),))
    green = near(shown, GREEN)
    assert near(plain, GREEN).sum() == 0
    # The bottle is 140x320 of 300x400: scaled to the card it keeps that share of its box.
    assert green.sum() > 0.25 * (480 * 0.48) ** 2 * (140 * 320) / (300 * 400)
    assert near(shown, MAGENTA, 60).sum() == 0  # the transparent pixels were cut out
    ys, xs = np.nonzero(green)
    assert ys.max() > 480 * 0.55  # standing on the ground, below the horizon line
    assert abs(xs.mean() - 854 / 3) < 60 or abs(xs.mean() - 2 * 854 / 3) < 60  # where the figure stood


def test_an_opaque_reference_is_shown_whole_and_several_stand_side_by_side(tmp_path):
    product = ref("product", cut_out_reference(tmp_path / "p.png"))
    logo = ref("logo", opaque_reference(tmp_path / "logo.png"))
    for width, height in ((854, 480), (480, 854), (480, 480)):
        shown = card((product, logo), width, height)
        green, blue = near(shown, GREEN), near(shown, BLUE)
        assert green.sum() > 0 and blue.sum() > 0
        assert np.nonzero(green)[1].max() < np.nonzero(blue)[1].min()  # product left of the logo, no overlap
        ys, xs = np.nonzero(blue)
        box_area = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
        assert blue.sum() > 0.95 * box_area  # a whole square photo


def test_boxes_stay_inside_the_card_whatever_the_subject_and_sizes():
    for subject_x in (0, 100, 427, 800, 854):
        for sizes in ([(300, 400)], [(4000, 300), (300, 4000)], [(256, 256)] * 5):
            subject = (subject_x - 20, 200, subject_x + 20, 330)
            boxes = reference_boxes(sizes, subject, (854, 480), 480)
            assert len(boxes) == len(sizes)
            for left, top, right, bottom in boxes:
                assert 0 <= left < right <= 854 and 0 <= top < bottom <= 330


SPEC = """
id: ad
prompt: p
duration: 10
resolution: 480p
references:
  product: {image: refs/bottle.png, describe: green bottle}
beats:
  - {name: hero, duration: 5, prompt: the bottle, camera: push_in, uses: [product]}
  - {name: pour, duration: 5, prompt: coffee poured, camera: pan_left, uses: []}
"""


def test_the_animatic_shows_the_reference_in_the_beats_that_use_it_and_the_camera_carries_it(tmp_path):
    folder = tmp_path / "specs"
    (folder / "refs").mkdir(parents=True)
    cut_out_reference(folder / "refs" / "bottle.png")
    spec = read_spec_text(SPEC, "ad.yaml")
    store = LocalStore(tmp_path / "data")
    store_references(store, "ad", read_local_references(spec, folder / "ad.yaml"))
    (folder / "refs" / "bottle.png").unlink()  # the render reads the stored copy only
    plan = with_references(plan_spec(spec, 5.0), stored_references(store, spec))
    backend = AnimaticBackend()
    (tmp_path / "sb").mkdir()
    board = stages.storyboard(plan, backend, store, tmp_path / "sb")
    hero = np.asarray(Image.open(board.path(layout.storyboard_image(0))).convert("RGB"))
    pour = np.asarray(Image.open(board.path(layout.storyboard_image(1))).convert("RGB"))
    assert near(hero, GREEN).sum() > 2000 and near(pour, GREEN).sum() == 0
    assert board.record["generations"][0]["references"] == {"product": plan.references[0].sha256}
    assert "references" not in board.record["generations"][1]

    (tmp_path / "p0").mkdir()
    pair = stages.chunk_pair(
        plan, plan.beats[0], board.path(layout.storyboard_image(0)), backend, store, tmp_path / "p0"
    )
    clip = pair.path(layout.chunk_video(0))
    first, last = probe.read_frames(clip, [0, plan.beats[0].chunks[0].frames - 1])
    sizes = []
    for frame in (first, last):
        ys, xs = np.nonzero(near(frame, GREEN, 60))
        assert len(ys) > 2000
        sizes.append((xs.max() - xs.min(), ys.max() - ys.min()))
    assert sizes[1][0] > sizes[0][0] * 1.05 and sizes[1][1] > sizes[0][1] * 1.05  # the push-in enlarges it


def test_changing_the_photo_changes_the_storyboard_fingerprint_and_nothing_else_does(tmp_path):
    folder = tmp_path / "specs"
    (folder / "refs").mkdir(parents=True)
    cut_out_reference(folder / "refs" / "bottle.png")
    spec = read_spec_text(SPEC, "ad.yaml")
    store = LocalStore(tmp_path / "data")
    backend = AnimaticBackend()

    def board(run: str) -> str:
        store_references(store, "ad", read_local_references(spec, folder / "ad.yaml"))
        plan = with_references(plan_spec(spec, 5.0), stored_references(store, spec))
        (tmp_path / run).mkdir()
        out = stages.storyboard(plan, backend, store, tmp_path / run)
        from vidgen_assets.storage.artifacts import save_artifacts

        save_artifacts(store, out)
        return str(out.record["fingerprint"]) + ("+cached" if out.record["cached"] else "")

    first = board("a")
    assert board("b") == first + "+cached"
    opaque_reference(folder / "refs" / "bottle.png")
    third = board("c")
    assert not third.endswith("+cached") and third != first


@pytest.mark.slow
def test_a_pan_carries_the_reference_even_when_the_store_moved_since_the_storyboard(tmp_path):
    """A pan draws the card again wider, references included: from where this process finds them."""
    import shutil

    folder = tmp_path / "specs"
    (folder / "refs").mkdir(parents=True)
    cut_out_reference(folder / "refs" / "bottle.png")
    spec = read_spec_text(SPEC.replace("camera: push_in", "camera: pan_right"), "ad.yaml")
    store = LocalStore(tmp_path / "data")
    store_references(store, "ad", read_local_references(spec, folder / "ad.yaml"))
    plan = with_references(plan_spec(spec, 5.0), stored_references(store, spec))
    backend = AnimaticBackend()
    (tmp_path / "sb").mkdir()
    board = stages.storyboard(plan, backend, store, tmp_path / "sb")
    image = board.path(layout.storyboard_image(0))
    shutil.move(tmp_path / "data", tmp_path / "elsewhere")  # the storyboard's reference paths are gone
    moved = LocalStore(tmp_path / "elsewhere")
    (tmp_path / "p0").mkdir()
    pair = stages.chunk_pair(plan, plan.beats[0], image, backend, moved, tmp_path / "p0")
    clip = pair.path(layout.chunk_video(0))
    first, last = probe.read_frames(clip, [0, plan.beats[0].chunks[0].frames - 1])
    centres = []
    for frame in (first, last):
        xs = np.nonzero(near(frame, GREEN, 60))[1]
        assert len(xs) > 2000
        centres.append(xs.mean())
    assert centres[1] < centres[0] - 10  # the camera pans right: the bottle moves left in the frame
