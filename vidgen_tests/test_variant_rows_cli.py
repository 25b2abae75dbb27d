"""Variants from a CSV file beside the spec (`variants: {file: rows.csv}`) through the CLI:
`vidgen validate`, `vidgen estimate` and an animatic `vidgen render` of the set, and bad files refused
with exit 2 and nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vidgen_assets.cli import main
from vidgen_assets.media.probe import probe, read_frames

VIDGEN = str(Path(sys.executable).with_name("vidgen"))

SPEC = """\
prompt: cold brew, warm morning light
duration: 5
resolution: 480p
music: false
cta: Order today
beats:
  - {name: hero, duration: 5, prompt: a bottle on a counter, text: Wake up}
variants: {file: rows.csv}
"""
ROWS = "name,cta,aspect_ratio\nb,Try it free,\nvertical,,9:16\n"


def _write(tmp_path: Path, rows: str | bytes = ROWS, spec: str = SPEC) -> Path:
    path = tmp_path / "ad.yaml"
    path.write_text(spec)
    (tmp_path / "rows.csv").write_bytes(rows.encode() if isinstance(rows, str) else rows)
    return path


def test_validate_and_estimate_show_each_row_as_a_variant(tmp_path: Path, capsys) -> None:
    spec = _write(tmp_path)
    assert main(["validate", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "variants: 2 more video(s): ad--b, ad--vertical" in out
    assert "variant ad--b (variants.file: row 2): changes cta='Try it free'" in out
    assert "  video ad--vertical: 5s (120 frames) at 480x854 24 fps, 9:16" in out
    assert "drawn again locally): 1/1 storyboard, 1/1 chunks\n" in out  # b: only the CTA differs
    assert "drawn again locally): 0/1 storyboard, 0/1 chunks\n" in out  # vertical: every picture differs
    assert main(["estimate", str(spec)]) == 0
    out = capsys.readouterr().out
    assert all(f"video {vid}, backend animatic" in out for vid in ("ad", "ad--b", "ad--vertical"))
    assert "set ad (3 videos: the spec and 2 variant(s)):" in out


def test_estimate_of_csv_variants_changing_cta_and_voice_shares_every_image_and_chunk(tmp_path: Path, capsys) -> None:
    spoken = SPEC.replace("text: Wake up}", "text: Wake up, say: 'Cold brew, made slow.'}") + "backend: replicate\n"
    rows = "cta,voice.voice\nTry it free,\nOrder today,Deep_Voice_Man\nTry it free,Deep_Voice_Man\n"
    assert main(["estimate", str(_write(tmp_path, rows, spoken))]) == 0
    out = capsys.readouterr().out
    assert all(f"video {vid}, backend replicate" in out for vid in ("ad", "ad--v01", "ad--v02", "ad--v03"))
    # The CTA and the voice are laid over the generated picture: the three variants' images and chunks are
    # the spec's very requests.
    assert "shared with an earlier video (paid once): 3 storyboard, 3 chunks," in out


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (b"name,cta\nb,Caf\xe9\n", "variants.file: 'rows.csv' is not UTF-8 text"),
        (b"name,colour\nb,red\n", "variants.file: column 'colour' names no field a variant changes"),
        (b"name,fps\nb,24\nc,31\n", "variants.file: row 3, column fps: got 31; allowed: 24, 25 or 30"),
        (b"name,cta\nb,x\nb,y\n", "variants.file: row 3, column name: 'b' is used twice (row 2 too)"),
        (b"cta\n" + b"".join(b"cta %d\n" % n for n in range(51)), "has 51 rows of variants; at most 50"),
    ],
)
def test_a_bad_csv_exits_2_naming_row_and_column_and_renders_nothing(tmp_path: Path, capsys, rows, expected) -> None:
    spec = _write(tmp_path, rows)
    data = tmp_path / "data"
    for command in (["validate", str(spec)], ["render", str(spec), "--data-dir", str(data)]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert f"invalid spec {spec}:" in err and expected in err
    assert not data.exists()


def test_a_missing_csv_or_one_outside_the_spec_folder_is_a_field_error(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "ad.yaml"
    spec.write_text(SPEC)
    assert main(["validate", str(spec)]) == 2
    assert f"variants.file: no file 'rows.csv' in the spec's folder ({tmp_path})" in capsys.readouterr().err
    spec.write_text(SPEC.replace("rows.csv", "../rows.csv"))
    assert main(["validate", str(spec)]) == 2
    assert "variants.file: '../rows.csv' leaves the spec's folder" in capsys.readouterr().err


@pytest.mark.slow
def test_an_animatic_render_of_csv_rows_makes_each_video_and_the_comparison_page(tmp_path: Path) -> None:
    spec = _write(tmp_path)
    env = {**os.environ, "VIDGEN_DATA": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [VIDGEN, "render", str(spec)], env=env, capture_output=True, text=True, timeout=400, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    videos = tmp_path / "data" / "videos"
    finals = {vid: videos / vid / "final.mp4" for vid in ("ad", "ad--b", "ad--vertical")}
    for vid, final in finals.items():
        assert str(final) in done.stdout.splitlines() and (videos / vid / "report.html").is_file()
    assert (probe(finals["ad--vertical"]).width, probe(finals["ad--vertical"]).height) == (480, 854)
    assert (probe(finals["ad--b"]).width, probe(finals["ad--b"]).height) == (854, 480)
    stored = (videos / "ad--b" / "spec.source.yaml").read_text()
    assert "id: ad--b" in stored and "cta: Try it free" in stored
    # b changes the CTA only (drawn below the middle of the frame): its top third is the spec's.
    base, b = (read_frames(finals[v], [60])[0].astype(int) for v in ("ad", "ad--b"))
    assert np.abs(base - b).max() > 24 and np.abs(base - b)[: base.shape[0] // 3].max() <= 8
    page = (videos / "ad" / "variants.html").read_text()
    assert all(f'src="../{vid}/final.mp4"' in page for vid in finals)
    assert "cta=&#39;Try it free&#39;" in page and "aspect_ratio=&#39;9:16&#39;" in page
