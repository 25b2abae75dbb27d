"""Reference images: read beside the spec, refused with field errors, stored with the video."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidgen_assets.cli import main
from vidgen_assets.core.spec import SpecError, parse_spec
from vidgen_assets.references import (
    MAX_BYTES,
    inside_folder,
    read_local_references,
    store_references,
    stored_references,
)
from vidgen_assets.storage.store import LocalStore


def product_png(
    size: tuple[int, int] = (320, 400), alpha: bool = True, colour: tuple[int, int, int] = (200, 40, 30)
) -> bytes:
    """A bottle-like shape on a transparent (or white) background."""
    w, h = size
    image = Image.new("RGBA", size, (255, 255, 255, 0 if alpha else 255))
    pixels = np.array(image)
    pixels[h // 5 : h - h // 10, w // 4 : w - w // 4] = (*colour, 255)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buf, format="PNG")
    return buf.getvalue()


def write_spec(folder: Path, references: str, beats: str | None = None) -> Path:
    beats = beats or (
        "  - {name: hero, duration: 5, prompt: bottle on a counter, uses: [product]}\n"
        "  - {name: pour, duration: 5, prompt: coffee poured, uses: []}\n"
        "  - {name: host, duration: 5, prompt: the host smiles}\n"
    )
    spec = folder / "ad.yaml"
    spec.write_text(f"id: ad\nprompt: p\nduration: 15\nresolution: 480p\nreferences:\n{references}beats:\n{beats}")
    return spec


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "specs"
    (out / "refs").mkdir(parents=True)
    (out / "refs" / "bottle.png").write_bytes(product_png())
    buf = io.BytesIO()
    Image.new("RGB", (300, 256), (20, 90, 160)).save(buf, format="JPEG")
    (out / "refs" / "host.jpg").write_bytes(buf.getvalue())
    return out


GOOD = '  product: {image: refs/bottle.png, describe: "red bottle"}\n  host: {image: refs/host.jpg}\n'


def test_validate_lists_each_beats_references(folder, capsys):
    assert main(["validate", str(write_spec(folder, GOOD))]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    hero = lines.index(next(line for line in lines if line.startswith("p000  hero")))
    assert lines[hero + 1].split() == ["uses:", "product"]
    assert lines[hero + 3].split() == ["uses:", "no", "references"]
    assert lines[hero + 5].split() == ["uses:", "product,", "host"]
    assert "  product: refs/bottle.png (320x400, alpha, sha256 " in out
    assert 'red bottle"; used by p000, p002' in out
    assert "  host: refs/host.jpg (300x256, sha256 " in out


def _truncated() -> bytes:
    data = product_png((600, 600))
    return data[: len(data) // 2]


BAD_FILES = {
    "missing": (None, "no file 'refs/x.png' in the spec's folder"),
    "not an image": (b"hello, I am text", "'refs/x.png' is not an image; allowed: PNG, JPEG or WEBP"),
    "truncated": (_truncated(), "'refs/x.png' is a truncated or damaged image"),
    "small": (product_png((400, 255)), "'refs/x.png' is 400x255; its short side must be at least 256 px"),
    "gif": (None, "is a GIF image; allowed: PNG, JPEG or WEBP"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_reference_files_exit_2_naming_the_field_and_nothing_is_written(folder, tmp_path, capsys, case):
    data, expected = BAD_FILES[case]
    if case == "gif":
        buf = io.BytesIO()
        Image.new("RGB", (300, 300)).save(buf, format="GIF")
        data = buf.getvalue()
    if data is not None:
        (folder / "refs" / "x.png").write_bytes(data)
    spec = write_spec(folder, "  product: {image: refs/x.png}\n  host: {image: refs/host.jpg}\n")
    out_dir = tmp_path / "out"
    assert main(["render", str(spec), "--data-dir", str(out_dir), "--dagster-home", str(tmp_path / "h")]) == 2
    err = capsys.readouterr().err
    assert f"invalid spec {spec}:\n  references.product.image: " in err
    assert expected in err
    assert not out_dir.exists() or not any(out_dir.rglob("*"))


def test_a_file_over_20_mb_is_refused_before_it_is_read(folder, capsys):
    big = folder / "refs" / "big.png"
    with big.open("wb") as f:
        f.write(product_png())
        f.truncate(MAX_BYTES + 1)
    spec = write_spec(folder, "  product: {image: refs/big.png}\n  host: {image: refs/host.jpg}\n")
    assert main(["validate", str(spec)]) == 2
    assert "references.product.image: 'refs/big.png' is 20.0 MB; at most 20.0 MB is allowed" in capsys.readouterr().err


@pytest.mark.parametrize("image", ["../outside.png", "refs/../../outside.png", "ABS"])
def test_paths_that_leave_the_spec_folder_are_refused(folder, capsys, image):
    outside = folder.parent / "outside.png"
    outside.write_bytes(product_png())
    image = str(outside) if image == "ABS" else image
    spec = write_spec(folder, f"  product: {{image: '{image}'}}\n  host: {{image: refs/host.jpg}}\n")
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert f"references.product.image: {image!r} leaves the spec's folder ({folder})" in err


def test_a_symlink_out_of_the_folder_is_refused_and_an_absolute_path_inside_is_accepted(folder):
    outside = folder.parent / "outside.png"
    outside.write_bytes(product_png())
    (folder / "refs" / "link.png").symlink_to(outside)
    spec = parse_spec({"id": "a", "prompt": "p", "references": {"product": {"image": "refs/link.png"}}})
    with pytest.raises(SpecError) as caught:
        read_local_references(spec, folder / "a.yaml")
    assert caught.value.errors[0].path == "references.product.image"
    inside = str(folder / "refs" / "bottle.png")
    spec = parse_spec({"id": "a", "prompt": "p", "references": {"product": {"image": inside}}})
    assert read_local_references(spec, folder / "a.yaml")[0].planned.file == "product.png"


def test_bad_name_and_unknown_uses_exit_2(folder, capsys):
    spec = write_spec(
        folder, "  Product: {image: refs/bottle.png}\n", "  - {name: a, duration: 5, prompt: x, uses: [logo]}\n"
    )
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "references.Product: reference name 'Product' is not allowed" in err
    assert "beats[0].uses[0]: unknown reference 'logo'" in err


def test_every_bad_reference_is_reported_at_once(folder):
    spec = parse_spec(
        {"id": "a", "prompt": "p", "references": {"one": {"image": "nope.png"}, "two": {"image": "../x.png"}}}
    )
    with pytest.raises(SpecError) as caught:
        read_local_references(spec, folder / "a.yaml")
    assert [e.path for e in caught.value.errors] == ["references.one.image", "references.two.image"]


def test_stored_once_with_its_hash_and_read_back_from_the_store(folder, tmp_path):
    spec = parse_spec(
        {"id": "ad", "prompt": "p", "references": {"product": {"image": "refs/bottle.png", "describe": "red"}}}
    )
    loaded = read_local_references(spec, folder / "ad.yaml")
    store = LocalStore(tmp_path / "data")
    store_references(store, "ad", loaded)
    key = "videos/ad/references/product.png"
    assert store.get_bytes(key) == (folder / "refs" / "bottle.png").read_bytes()
    (planned,) = stored_references(store, spec)
    assert (planned.name, planned.width, planned.height, planned.has_alpha) == ("product", 320, 400, True)
    assert planned.sha256 == loaded[0].planned.sha256 and planned.describe == "red"
    manifest = json.loads(store.get_bytes("videos/ad/references/references.json"))
    assert [m["sha256"] for m in manifest] == [planned.sha256]
    # The spec folder is no longer needed.
    (folder / "refs" / "bottle.png").unlink()
    assert stored_references(store, spec) == (planned,)


def test_an_opaque_rgba_image_has_no_alpha_to_cut_out(folder):
    (folder / "refs" / "opaque.png").write_bytes(product_png(alpha=False))
    spec = parse_spec({"id": "a", "prompt": "p", "references": {"product": {"image": "refs/opaque.png"}}})
    assert read_local_references(spec, folder / "a.yaml")[0].planned.has_alpha is False


def test_an_unregistered_reference_is_an_error_naming_it(tmp_path):
    spec = parse_spec({"id": "ad", "prompt": "p", "references": {"product": {"image": "x.png"}}})
    with pytest.raises(ValueError, match="video 'ad' uses references \\(product\\) but none were registered"):
        stored_references(LocalStore(tmp_path), spec)


def test_a_relative_path_is_inside_exactly_when_it_never_climbs_above_the_folder():
    """Every path of up to 5 parts from a, b, .., . (an S3 prefix: no file system to resolve against)."""
    for n in range(1, 6):
        for parts in itertools.product(["a", "b", "..", "."], repeat=n):
            depth, escapes = 0, False
            for part in parts:
                depth += -1 if part == ".." else 0 if part == "." else 1
                escapes = escapes or depth < 0
            found = inside_folder("/".join(parts), None)
            assert (found is None) == (escapes or depth == 0), parts
            assert found is None or not found.startswith("..")
