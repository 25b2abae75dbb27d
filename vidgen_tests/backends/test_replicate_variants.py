"""A variant set with `backend: replicate` against the fake API: what two videos share is paid once."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from vidgen_assets.cli import main
from vidgen_assets.core.cost import usd
from vidgen_assets.runner import Runner
from vidgen_assets.variant_sets import load_members

pytestmark = pytest.mark.slow

SPEC = """\
id: share
prompt: "a short ad for a cold brew"
duration: 6
resolution: 480p
music: false
cta: "Order today"
backend: replicate
beats:
  - {name: hero, duration: 3, prompt: "a bottle on a sunlit counter", text: "Wake up"}
  - {name: pour, duration: 3, prompt: "cold brew poured over ice"}
variants:
  - {name: b, cta: "Try it free"}
  - {name: hook2, beats: {1: {prompt: "a hand reaching for the glass"}}}
"""
IMAGE, VIDEO = "black-forest-labs/flux-schnell", "wan-video/wan-2.2-i2v-fast"


def test_a_variant_pays_only_for_the_calls_its_changes_make_new(replicate_env, settings, home, tmp_path: Path, capsys):
    fake = replicate_env
    path = tmp_path / "share.yaml"
    path.write_text(SPEC)
    assert main(["estimate", str(path)]) == 0
    [line] = [x for x in capsys.readouterr().out.splitlines() if x.startswith("set share ")]
    assert "shared with an earlier video (paid once): 3 storyboard, 3 chunks" in line
    estimated = line.rsplit("the set: ", 1)[1].split()[0]
    runner = Runner(settings, home, progress=lambda _: None)
    costs = {}
    for spec, text in load_members(path):
        before = {m: fake.create_count(m) for m in (IMAGE, VIDEO)}
        runner.render(spec, text)
        costs[spec.id] = {m: fake.create_count(m) - before[m] for m in (IMAGE, VIDEO)}
        final = json.loads((settings.data_dir / "videos" / spec.id / "final.json").read_text())
        costs[spec.id]["usd"] = final["cost_usd"]
    # The base makes 2 images and 2 chunks. b changes only the CTA (drawn after generation): every call
    # is the base's very request, answered by the generation cache. hook2 changes beat 1's prompt: one
    # image and one chunk are new, beat 0's are the base's.
    assert {v: (c[IMAGE], c[VIDEO]) for v, c in costs.items()} == {
        "share": (2, 2),
        "share--b": (0, 0),
        "share--hook2": (1, 1),
    }
    assert costs["share--b"]["usd"] == 0.0 and costs["share"]["usd"] > costs["share--hook2"]["usd"] > 0
    # The set's estimate, its shared calls counted once, is what the set paid.
    assert estimated == usd(Decimal(str(round(sum(c["usd"] for c in costs.values()), 6))))


ROWS_SPEC = """\
id: rows
prompt: "a short ad for a cold brew"
duration: 6
resolution: 480p
music: false
cta: "Order today"
backend: replicate
beats:
  - {name: hero, duration: 3, prompt: "a bottle on a sunlit counter", say: "Cold brew, steeped slow."}
  - {name: pour, duration: 3, prompt: "cold brew poured over ice"}
variants: {file: rows.csv}
"""
ROWS = """\
name,cta,voice.voice
free,Try it free,
deep,,Deep_Voice_Man
free-deep,Try it free,Deep_Voice_Man
now,Buy now,
"""
TTS = "minimax/speech-02-turbo"


def test_four_csv_variants_changing_cta_and_voice_make_every_image_and_chunk_once(
    replicate_env, settings, home, tmp_path: Path, capsys
):
    """The measurement in the issue: 4 variants (CSV rows) that differ from the spec only in CTA text and
    voice. Every storyboard image and chunk is made once, for the spec; each voice is spoken once."""
    fake = replicate_env
    path = tmp_path / "rows.yaml"
    path.write_text(ROWS_SPEC)
    (tmp_path / "rows.csv").write_text(ROWS)
    assert main(["estimate", str(path)]) == 0
    [line] = [x for x in capsys.readouterr().out.splitlines() if x.startswith("set rows ")]
    assert "shared with an earlier video (paid once): 8 storyboard, 8 chunks, 3 voice," in line
    estimated = line.rsplit("the set: ", 1)[1].split()[0]
    runner = Runner(settings, home, progress=lambda _: None)
    calls, paid = {}, Decimal(0)
    for spec, text in load_members(path):
        before = {m: fake.create_count(m) for m in (IMAGE, VIDEO, TTS)}
        runner.render(spec, text)
        calls[spec.id] = tuple(fake.create_count(m) - before[m] for m in (IMAGE, VIDEO, TTS))
        paid += Decimal(
            str(json.loads((settings.data_dir / "videos" / spec.id / "final.json").read_text())["cost_usd"])
        )
    # (images, chunks, voice lines) each video asked the API for; the rest the generation cache answered.
    assert calls == {
        "rows": (2, 2, 1),
        "rows--free": (0, 0, 0),
        "rows--deep": (0, 0, 1),
        "rows--free-deep": (0, 0, 0),
        "rows--now": (0, 0, 0),
    }
    assert (fake.create_count(IMAGE), fake.create_count(VIDEO), fake.create_count(TTS)) == (2, 2, 2)
    # The set's estimate, every shared image, chunk and voice line counted once, is what the set paid.
    assert estimated == usd(paid)
