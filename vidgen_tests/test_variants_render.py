"""`vidgen render` of a spec with variants: every variant its own video, drawn exactly as the
base wherever its inputs are the same, and nothing written for any of them when one is bad."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vidgen_assets.media.probe import read_frames

pytestmark = pytest.mark.slow

VIDGEN = str(Path(sys.executable).with_name("vidgen"))

SPEC = """\
prompt: cold brew, warm morning light
duration: 6
resolution: 480p
music: false
cta: Order today
beats:
  - {name: hero, duration: 3, prompt: a bottle on a counter, text: Wake up}
  - {name: pour, duration: 3, prompt: a glass being poured}
variants:
  - {name: b, cta: Try it free}
  - {name: hook2, beats: {0: {text: "Still paying too much?"}}}
"""
FPS = 24
IN_HOOK = [6, 36, 66]
"""Frames of beat 0 (0-3 s): its text; the CTA is over the last beat only."""
IN_CTA = [80, 110, 143]
"""Frames of beat 1 (3-6 s), where the CTA is drawn."""


def _render(tmp_path: Path, spec: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VIDGEN_DATA": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path / "home")}
    return subprocess.run(
        [VIDGEN, "render", str(spec)], env=env, capture_output=True, text=True, timeout=400, check=False
    )


def _frames(video: Path) -> dict[int, np.ndarray]:
    wanted = IN_HOOK + IN_CTA
    return dict(zip(wanted, read_frames(video, wanted), strict=True))


def test_a_variant_set_renders_each_variant_drawn_as_the_base_except_where_it_differs(tmp_path: Path) -> None:
    spec = tmp_path / "ad.yaml"
    spec.write_text(SPEC)
    done = _render(tmp_path, spec)
    assert done.returncode == 0, done.stderr[-3000:]
    videos = tmp_path / "data" / "videos"
    finals = {vid: videos / vid / "final.mp4" for vid in ("ad", "ad--b", "ad--hook2")}
    for vid, final in finals.items():
        assert str(final) in done.stdout.splitlines()
        assert (videos / vid / "final.json").is_file() and (videos / vid / "report.html").is_file()
        assert f"[{vid}] done in " in done.stdout
    stored = (videos / "ad--b" / "spec.source.yaml").read_text()
    assert "id: ad--b" in stored and "cta: Try it free" in stored and "variants" not in stored.split("\n", 1)[1]
    # Cards are drawn from the beat, not the video's id: the same beat is the same file in every video.
    for vid in ("ad--b", "ad--hook2"):
        for beat in ("beat_00.png", "beat_01.png"):
            card = videos / vid / "storyboard" / beat
            assert card.read_bytes() == (videos / "ad" / "storyboard" / beat).read_bytes()

    base, b, hook2 = (_frames(finals[v]) for v in ("ad", "ad--b", "ad--hook2"))
    # b changes the CTA only: identical frames in beat 0, different ones where the CTA is drawn.
    assert all(np.array_equal(base[n], b[n]) for n in IN_HOOK)
    assert all(not np.array_equal(base[n], b[n]) for n in IN_CTA)
    # hook2 changes beat 0's text only: different frames there, identical under the CTA.
    assert all(not np.array_equal(base[n], hook2[n]) for n in IN_HOOK)
    assert all(np.array_equal(base[n], hook2[n]) for n in IN_CTA)
    # Where b differs, it is the CTA's text (centred at 58% of the height): every pixel more than a codec's
    # ripple apart is in the CTA's band, and the top of the frame is untouched.
    a, other = base[IN_CTA[1]].astype(int), b[IN_CTA[1]].astype(int)
    rows = np.nonzero(np.abs(a - other).max(axis=(1, 2)) > 24)[0]
    height = a.shape[0]
    assert rows.size > 20 and height * 0.45 < rows.min() and rows.max() < height * 0.72
    assert np.abs(a - other)[: int(height * 0.45)].max() <= 8
    # The comparison page beside the spec's video plays each one from its own folder.
    page = (videos / "ad" / "variants.html").read_text()
    assert f"[ad] variants to compare: {videos / 'ad' / 'variants.html'}" in done.stdout
    assert all(f'src="../{vid}/final.mp4"' in page for vid in finals)
    assert "cta=&#39;Try it free&#39;" in page and "beats.0.text=" in page and "the spec" in page
    costs = {v: json.loads((videos / v / "final.json").read_text())["cost_usd"] for v in finals}
    assert costs == {"ad": 0.0, "ad--b": 0.0, "ad--hook2": 0.0}


def test_a_bad_variant_exits_2_naming_its_field_and_writes_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "ad.yaml"
    spec.write_text(
        SPEC
        + "  - {name: c, beats: {4: {text: x}}}\n"
        + "  - {name: d, voice: {speed: 9}}\n"
        + "  - {name: e, aspect_ratio: '4:3'}\n"
    )
    done = _render(tmp_path, spec)
    assert done.returncode == 2
    assert f"invalid spec {spec}:" in done.stderr
    assert "variants[2].beats.4: no beat 4; the spec has 2" in done.stderr
    assert "variants[3].voice.speed: Input should be less than or equal to 2" in done.stderr
    assert "variants[4].aspect_ratio: got '4:3'; allowed: '16:9', '9:16' or '1:1'" in done.stderr
    assert not (tmp_path / "data").exists()
