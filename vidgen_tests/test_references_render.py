"""An animatic render with a reference: the contact sheet and report.html show it and the beats that use it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidgen_assets.cli import main
from vidgen_assets.core.spec import load_spec
from vidgen_assets.references import read_local_references
from vidgen_tests.backends.test_reference_composite import GREEN, MAGENTA, cut_out_reference, near

pytestmark = pytest.mark.slow

SPEC = """\
id: refs-animatic
prompt: "a 10 second ad for a green bottle"
duration: 10
resolution: 480p
references:
  product: {image: refs/bottle.png, describe: "green glass bottle"}
beats:
  - {name: hero, duration: 5, prompt: "the bottle on a counter", camera: push_in, uses: [product], transition: fade}
  - {name: pour, duration: 5, prompt: "coffee poured", camera: pan_left, uses: []}
music: false
"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("refs")
    folder = tmp / "specs"
    (folder / "refs").mkdir(parents=True)
    cut_out_reference(folder / "refs" / "bottle.png")
    path = folder / "refs-animatic.yaml"
    path.write_text(SPEC)
    data, home = tmp / "data", tmp / "home"
    assert main(["render", str(path), "--data-dir", str(data), "--dagster-home", str(home)]) == 0
    video: Path = data / "videos" / "refs-animatic"
    return video


def test_the_contact_sheet_shows_the_reference_and_the_beats_that_use_it(rendered):
    sheet = np.asarray(Image.open(rendered / "contact_sheet.png").convert("RGB"))
    hero = np.asarray(Image.open(rendered / "storyboard" / "beat_00.png").convert("RGB"))
    pour = np.asarray(Image.open(rendered / "storyboard" / "beat_01.png").convert("RGB"))
    assert near(hero, GREEN).sum() > 2000 and near(pour, GREEN).sum() == 0
    green_rows = np.nonzero(near(sheet, GREEN).any(axis=1))[0]
    # The reference row at the top (its transparent pixels over a checkerboard, not magenta), then the
    # first beat's thumbnail further down; the second beat's thumbnail (to its right) has none.
    assert green_rows.min() < 60 and near(sheet, MAGENTA, 60).sum() == 0
    columns = np.nonzero(near(sheet[200:], GREEN).any(axis=0))[0]
    assert columns.size and columns.max() < sheet.shape[1] // 2


def test_the_final_video_shows_the_reference_in_the_first_beat_only(rendered):
    from vidgen_assets.media import probe

    first, second = probe.read_frames(rendered / "final.mp4", [60, 180])
    assert near(first, GREEN, 60).sum() > 2000 and near(second, GREEN, 60).sum() == 0


def test_report_html_lists_the_references_and_which_beats_use_them(rendered):
    html = (rendered / "report.html").read_text()
    assert "<h2>References</h2>" in html
    assert re.search(r'<a href="references/product.png"><img alt="reference product" src="data:image/jpeg', html)
    assert "product · product.png · 300x400 · alpha · sha256 " in html
    assert "“green glass bottle”<br>used by 0: hero</figcaption>" in html
    assert "· uses product" in html and html.count("· uses ") == 1
    assert (rendered / "references" / "product.png").is_file()


def test_validate_and_a_render_agree_on_the_stored_hash(rendered, capsys):
    spec_path = rendered.parent.parent.parent / "specs" / "refs-animatic.yaml"
    spec = load_spec(spec_path)
    (loaded,) = read_local_references(spec, spec_path)
    assert main(["validate", str(spec_path)]) == 0
    assert f"sha256 {loaded.planned.sha256[:12]}" in capsys.readouterr().out
    plan = json.loads((rendered / "spec.json").read_text())
    assert plan["references"][0]["sha256"] == loaded.planned.sha256
