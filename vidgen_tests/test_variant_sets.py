"""`vidgen validate` and `vidgen estimate` of a spec with variants."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidgen_assets.cli import main

SPEC = """\
prompt: cold brew
duration: 10
cta: Order today
beats:
  - {name: hero, duration: 5, prompt: a bottle, text: Wake up}
  - {name: pour, duration: 5, prompt: a glass}
variants:
  - {name: b, cta: Try it free, voice: {voice: en-gb}}
  - {name: vertical, aspect_ratio: "9:16"}
  - {name: hook2, beats: {0: {text: "Still paying too much?"}}}
"""


def test_validate_shows_each_variant_with_its_plan_line_and_what_it_changes(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "ad.yaml"
    spec.write_text(SPEC)
    assert main(["validate", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "variants: 3 more video(s): ad--b, ad--vertical, ad--hook2" in out
    assert "variant ad--b (variants[0]): changes cta='Try it free', voice.voice='en-gb'" in out
    assert "  video ad--vertical: 10s (240 frames) at 576x1024 24 fps, 9:16" in out
    assert "variant ad--hook2 (variants[2]): changes beats.0.text='Still paying too much?'" in out
    # What each shares with the spec: the CTA and a beat's text are drawn over the same pictures; a new
    # frame shape changes every picture (not the music bed).
    same = "  shares with the spec (the very same inputs: the same files, drawn again locally): "
    lines = [line for line in out.splitlines() if line.startswith(same)]
    assert [line[len(same) :] for line in lines] == [
        "2/2 storyboard, 2/2 chunks, 1/1 music", "0/2 storyboard, 0/2 chunks, 1/1 music",
        "2/2 storyboard, 2/2 chunks, 1/1 music",
    ]  # fmt: skip


def test_estimate_prices_each_video_and_the_set(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "ad.yaml"
    spec.write_text(SPEC.replace("cta: Order today", "cta: Order today\nbackend: replicate"))
    assert main(["estimate", str(spec)]) == 0
    out = capsys.readouterr().out
    for vid in ("ad", "ad--b", "ad--vertical", "ad--hook2"):
        assert f"video {vid}, backend replicate" in out
    assert "set ad (4 videos: the spec and 3 variant(s)):" in out
    # b changes the CTA, hook2 one beat's text: drawn after generation, so their every call is the spec's
    # very request, answered by the generation cache. vertical changes the frame: nothing is shared.
    assert "shared with an earlier video (paid once): 4 storyboard, 4 chunks," in out


@pytest.mark.parametrize(
    ("variants", "expected"),
    [
        ("  - {name: c, beats: {5: {text: x}}}\n", "variants[3].beats.5: no beat 5; the spec has 2"),
        ("  - {name: c, voice: {voice: ''}}\n", "variants[3].voice.voice: String should have at least 1 character"),
        ("  - {name: b, cta: again}\n", "variants[3].name: 'b' is used twice"),
    ],
)
def test_validate_of_a_bad_variant_exits_2_naming_the_variant_field(tmp_path: Path, capsys, variants, expected) -> None:
    spec = tmp_path / "ad.yaml"
    spec.write_text(SPEC + variants)
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert f"invalid spec {spec}:" in err and expected in err


def test_a_variant_id_taken_by_another_spec_is_refused(tmp_path: Path, capsys) -> None:
    (tmp_path / "ad.yaml").write_text(SPEC)
    (tmp_path / "other.yaml").write_text("id: ad--b\nprompt: p\n")
    assert main(["validate", str(tmp_path / "ad.yaml"), str(tmp_path / "other.yaml")]) == 2
    assert "id: 'ad--b' is also the id of" in capsys.readouterr().err


def test_a_variant_naming_a_voice_this_machine_lacks_is_named_at_the_variant(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "ad.yaml"
    spoken = SPEC.replace("prompt: a glass}", "prompt: a glass, say: Order today.}")
    spec.write_text(spoken + "  - {name: k, voice: {voice: klingon}}\n")
    assert main(["validate", str(spec)]) == 2
    assert "  variants[3].voice.voice: unknown voice 'klingon' for backend animatic" in capsys.readouterr().err


def test_budget_usd_applies_to_the_whole_set(tmp_path: Path, capsys, monkeypatch) -> None:
    """Each video is within $0.15, the set (shared calls counted once) is not: estimate says so, render
    refuses it before anything is written; with room for the set it is within budget."""
    monkeypatch.setenv("REPLICATE_API_TOKEN", "not-used")
    spec = tmp_path / "ad.yaml"
    spec.write_text(SPEC.replace("cta: Order today", "cta: Order today\nbackend: replicate\nbudget_usd: 0.15"))
    assert main(["estimate", str(spec)]) == 0
    out = capsys.readouterr().out
    assert out.count("budget_usd $0.15: within budget") == 4  # every video on its own
    assert "budget_usd $0.15 for the set ad ($0.233): OVER BUDGET: render would refuse the set" in out
    data = tmp_path / "data"
    assert main(["render", str(spec), "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err
    assert "refused: set 'ad' (4 videos): the estimated cost of the set $0.233 (shared calls counted once)" in err
    assert not data.exists()
    spec.write_text(SPEC.replace("cta: Order today", "cta: Order today\nbackend: replicate\nbudget_usd: 0.25"))
    assert main(["estimate", str(spec)]) == 0
    assert "budget_usd $0.25 for the set ad ($0.233): within budget" in capsys.readouterr().out
