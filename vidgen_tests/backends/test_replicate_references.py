"""References with the replicate backend, against the fake Replicate API (the real client over real HTTP).

Which calls carried which reference (decoded by the fake from data URIs and uploaded files), the cache keys
changing exactly when an image's bytes change, and a render end to end whose cost equals its estimate."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidgen_assets.backends.registry import REGISTRY
from vidgen_assets.backends.replicate import Limits, ReplicateBackend
from vidgen_assets.backends.selection import select_models
from vidgen_assets.cli import main
from vidgen_assets.core.generation import ReferenceImage
from vidgen_assets.core.spec import load_spec
from vidgen_assets.references import read_local_references
from vidgen_assets.runner import Runner
from vidgen_assets.storage.store import LocalStore
from vidgen_tests.backends.test_replicate import FAST, FLUX, WAN, image_request, source, video_request
from vidgen_tests.fakes import FakeReplicate

__all__ = ["source"]  # the start-image fixture

BANANA = "google/nano-banana"
KONTEXT = "black-forest-labs/flux-kontext-pro"


def photo(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (300, 300), noise: bool = False) -> Path:
    """A PNG of one colour (with noise it does not compress: a large file, sent by upload)."""
    pixels = np.full((size[1], size[0], 3), colour, np.uint8)
    if noise:
        pixels[::2] = np.random.default_rng(1).integers(0, 255, size=pixels[::2].shape, dtype=np.uint8)
    Image.fromarray(pixels, "RGB").save(path)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ref(name: str, path: Path, describe: str | None = None) -> ReferenceImage:
    return ReferenceImage(name=name, path=str(path), sha256=sha(path), describe=describe)


def backend(fake: FakeReplicate, tmp_path: Path, models=None, **kw) -> ReplicateBackend:
    selection = models if models is not None and not isinstance(models, dict) else select_models(models or {})
    limits = kw.pop("limits", Limits(connect_s=5, read_s=10, download_s=20))
    return ReplicateBackend(
        selection, fake.token, store=LocalStore(tmp_path / "data"), base_url=fake.url, retry=FAST, limits=limits
    )


def test_a_beat_with_references_is_drawn_by_an_image_model_given_them_by_data_uri_and_upload(replicate_env, tmp_path):
    fake = replicate_env
    product = photo(tmp_path / "product.png", (200, 30, 30))
    host = photo(tmp_path / "host.png", (30, 30, 200), (600, 600), noise=True)
    assert host.stat().st_size > 200_000 > product.stat().st_size
    b = backend(fake, tmp_path, limits=Limits(connect_s=5, read_s=10, download_s=20, data_uri_max_bytes=200_000))
    request = dataclasses.replace(
        image_request(), references=(ref("product", product, "red glass bottle"), ref("host", host, "a tall woman"))
    )
    gen = b.image(request, tmp_path / "beat_00.png")
    assert gen.model == BANANA and gen.cost_usd == 0.039
    assert fake.create_count(BANANA) == 1 and fake.create_count(FLUX) == 0
    (sent,) = fake.images_sent(BANANA)
    assert [(i.key, i.index, i.via, i.sha256) for i in sent] == [
        ("image_input", 0, "data-uri", sha(product)),
        ("image_input", 1, "upload", sha(host)),
    ]
    inputs = fake.creates[0][1]
    assert "red glass bottle; a tall woman" in inputs["prompt"] and inputs["output_format"] == "png"
    # The fake editing model shows its first input image: the storyboard image has the product's red.
    pixels = np.asarray(Image.open(tmp_path / "beat_00.png").convert("RGB")).astype(int)
    assert (np.abs(pixels - (200, 30, 30)).sum(axis=-1) < 30).sum() > 100

    # A beat without references keeps the spec's image model and price, and sends no image.
    plain = b.image(image_request(seed=1), tmp_path / "beat_01.png")
    assert (plain.model, plain.cost_usd) == (FLUX, 0.003)
    assert fake.images_sent(FLUX) == [[]]


def test_a_single_image_model_gets_the_first_reference_as_a_string(replicate_env, tmp_path):
    fake = replicate_env
    b = backend(fake, tmp_path, {"image": KONTEXT})
    product, logo = photo(tmp_path / "p.png", (200, 30, 30)), photo(tmp_path / "l.png", (0, 0, 0))
    gen = b.image(dataclasses.replace(image_request(), references=(ref("product", product), ref("logo", logo))),
                  tmp_path / "out.png")  # fmt: skip
    assert gen.model == KONTEXT and gen.extra["reference_images"] == f"product:{sha(product)[:12]}"
    (sent,) = fake.images_sent(KONTEXT)
    assert [(i.key, i.sha256) for i in sent] == [("input_image", sha(product))]
    assert isinstance(fake.creates[0][1]["input_image"], str)


def test_the_fake_refuses_an_image_input_of_the_wrong_type_as_the_real_api_does(replicate_env, tmp_path):
    from replicate.client import Client
    from replicate.exceptions import ReplicateError

    fake = replicate_env
    client = Client(api_token=fake.token, base_url=fake.url)
    with pytest.raises(ReplicateError) as caught:
        client.models.predictions.create(model=BANANA, input={"prompt": "p", "image_input": "data:image/png;base64,"})
    assert caught.value.status == 422 and "Expected: array, given: string" in str(caught.value.detail)


def test_cache_keys_change_exactly_when_the_image_bytes_change(replicate_env, tmp_path):
    fake = replicate_env
    b = backend(fake, tmp_path)
    product = photo(tmp_path / "product.png", (200, 30, 30))
    host = photo(tmp_path / "host.png", (30, 30, 200))

    def draw(seed: int, *refs: ReferenceImage) -> None:
        b.image(dataclasses.replace(image_request(seed=seed), references=refs), tmp_path / f"b{seed}.png")

    draw(0, ref("product", product))
    draw(1, ref("host", host))
    draw(2)
    assert fake.create_count() == 3
    draw(0, ref("product", product))
    draw(1, ref("host", host))
    draw(2)
    assert fake.create_count() == 3, "unchanged: all answered from the cache"
    renamed = tmp_path / "elsewhere.png"
    renamed.write_bytes(product.read_bytes())
    draw(0, ref("product", renamed))
    assert fake.create_count() == 3, "the key is the bytes, not the path"
    photo(product, (201, 30, 30))  # one shade different
    draw(0, ref("product", product))
    draw(1, ref("host", host))
    draw(2)
    assert fake.create_count() == 4, "only the call that sent the changed photo is made again"
    assert [i.sha256 for i in fake.images_sent(BANANA)[-1]] == [sha(product)]


def test_a_video_model_with_a_reference_input_gets_them_after_its_start_image(replicate_env, tmp_path, source):
    fake = replicate_env
    wan = dataclasses.replace(REGISTRY[WAN], reference_images_key="reference_images", max_reference_images=1)
    selection = dataclasses.replace(select_models({}), video=wan)
    b = backend(fake, tmp_path, selection)
    product, host = photo(tmp_path / "p.png", (200, 30, 30)), photo(tmp_path / "h.png", (9, 9, 9))
    request = dataclasses.replace(
        video_request(), reference_images=(ref("product", product, "red bottle"), ref("host", host))
    )
    gen = b.video(request, source, tmp_path / "chunk.mp4")
    (sent,) = fake.images_sent(WAN)
    assert [(i.key, i.index, i.sha256) for i in sent] == [
        ("image", 0, sha(source)),
        ("reference_images", 0, sha(product)),
    ]
    assert "featuring red bottle" in fake.creates[0][1]["prompt"]
    assert gen.extra["reference_images"] == f"product:{sha(product)[:12]}"
    # Today's video models take no reference images: the same request sends only the start image.
    plain = backend(fake, tmp_path / "plain")
    plain.video(request, source, tmp_path / "chunk2.mp4")
    assert [i.key for i in fake.images_sent(WAN)[-1]] == ["image"]


SPEC = """\
id: bottle-replicate
prompt: "a 10 second ad for a red bottle"
duration: 10
resolution: 480p
references:
  product: {image: refs/bottle.png, describe: "red glass bottle"}
beats:
  - {name: hero, duration: 5, prompt: "the bottle on a counter", camera: push_in, uses: [product]}
  - {name: pour, duration: 5, prompt: "coffee poured into a glass", camera: pan_left, uses: []}
music: false
backend: replicate
"""


@pytest.mark.slow
def test_replicate_render_with_references_costs_its_estimate_and_remakes_only_what_the_photo_changes(
    replicate_env, settings, home, tmp_path, capsys
):
    fake = replicate_env
    folder = tmp_path / "specs"
    (folder / "refs").mkdir(parents=True)
    bottle = photo(folder / "refs" / "bottle.png", (200, 30, 30), (320, 400))
    path = folder / "bottle-replicate.yaml"
    path.write_text(SPEC)

    assert main(["estimate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "storyboard  google/nano-banana" in out and "storyboard  black-forest-labs/flux-schnell" in out
    total = next(line for line in out.splitlines() if line.startswith("total")).split()[-1]
    assert total == "$0.142"  # 0.039 (nano-banana) + 0.003 (flux-schnell) + 2 x 0.05 (wan)

    def render() -> Decimal:
        spec = load_spec(path)
        report = Runner(settings, home, progress=lambda _: None).render(
            spec, path.read_text(), read_local_references(spec, path)
        )
        return Decimal(str(report.cost_usd))

    assert render() == Decimal("0.142")
    assert {m: fake.create_count(m) for m in (BANANA, FLUX, WAN)} == {BANANA: 1, FLUX: 1, WAN: 2}
    assert [[i.sha256 for i in images] for images in fake.images_sent(BANANA)] == [[sha(bottle)]]
    assert "red glass bottle" in next(inputs["prompt"] for model, inputs in fake.creates if model == BANANA)
    video = settings.data_dir / "videos" / "bottle-replicate"
    assert (video / "references" / "product.png").read_bytes() == bottle.read_bytes()
    board = json.loads((video / "storyboard" / "storyboard.json").read_text())
    assert board["generations"][0]["references"] == {"product": sha(bottle)}

    before = len(fake.creates)
    render()
    assert len(fake.creates) == before, "an unchanged re-render makes zero calls"

    photo(bottle, (30, 160, 30), (320, 400))  # a new photo of the product
    render()
    made = [model for model, _ in fake.creates[before:]]
    # The beat that shows the product gets a new storyboard image and so a new chunk ($0.039 + $0.05);
    # nothing else is made.
    assert sorted(made) == [BANANA, WAN]
    assert [i.sha256 for i in fake.images_sent(BANANA)[-1]] == [sha(bottle)]
    assert (video / "references" / "product.png").read_bytes() == bottle.read_bytes()
