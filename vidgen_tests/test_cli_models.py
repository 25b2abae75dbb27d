"""`vidgen models`: the registry as a table a user chooses from, with the price overrides in force, and
`validate` refusing a bridge its video model cannot make."""

from __future__ import annotations

import json
from pathlib import Path

from vidgen_assets.backends.registry import REGISTRY
from vidgen_assets.cli import main


def blocks(text: str) -> dict[str, str]:
    """Each model's block of lines, by model id."""
    out: dict[str, str] = {}
    current = None
    for line in text.split("\n\n")[0].splitlines():
        if line and not line.startswith(" "):
            current = line.split()[1]
            out[current] = line
        elif current and line.startswith(" "):
            out[current] += "\n" + line
    return out


def test_models_lists_every_model_with_capabilities_clip_price_source_and_what_is_unconfirmed(capsys, monkeypatch):
    monkeypatch.delenv("VIDGEN_PRICES", raising=False)
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    found = blocks(out)
    assert set(found) == set(REGISTRY)
    veo = found["google/veo-3.1"]
    assert veo.startswith("video    google/veo-3.1\n")
    assert "end frame (last_frame)" in veo and "3 reference images (reference_images)" in veo
    assert "makes sound (sent generate_audio=false)" in veo
    assert "native:      8 s (takes 4/6/8 s), 1280x720, 24 fps, mp4" in veo
    assert "price:       $0.20/s (" in veo and "with sound:  $0.40/s" in veo
    assert "UNCONFIRMED: price on Replicate" in veo
    assert "[default with bridges]" in found["minimax/hailuo-02"].splitlines()[0]
    assert "[default]" in found["wan-video/wan-2.2-i2v-fast"].splitlines()[0]
    assert "native:      81 frames, 832x480, 16 fps, mp4" in found["wan-video/wan-2.2-i2v-fast"]
    for model_id, block in found.items():
        model = REGISTRY[model_id]
        assert f"({model.price.source}, {model.price.date})" in block
        assert ("UNCONFIRMED: " + model.unconfirmed in block) == bool(model.unconfirmed)
    assert "price overrides in force: none" in out


def test_models_shows_the_price_overrides_in_force(tmp_path: Path, capsys, monkeypatch):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"google/veo-3.1-fast": {"usd": "0.12", "unit": "second", "source": "my invoice",
                                                          "date": "2026-11"}}))  # fmt: skip
    monkeypatch.setenv("VIDGEN_PRICES", str(prices))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "OVERRIDE:    $0.12/s (my invoice, 2026-11) is used" in blocks(out)["google/veo-3.1-fast"]
    assert "OVERRIDE" not in blocks(out)["google/veo-3.1"]
    assert "price overrides in force: google/veo-3.1-fast (from $VIDGEN_PRICES)" in out


def test_models_with_unreadable_overrides_exits_2(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("VIDGEN_PRICES", str(tmp_path / "missing.json"))
    assert main(["models"]) == 2
    assert "cannot read prices" in capsys.readouterr().err


def test_validate_refuses_a_bridge_the_video_model_cannot_make(tmp_path: Path, capsys):
    path = tmp_path / "bridged.yaml"
    path.write_text(
        "prompt: p\nduration: 10\nbackend: replicate\nmodels: {video: kwaivgi/kling-v2.5-turbo-pro}\n"
        "beats:\n  - {name: a, duration: 5, prompt: x, transition: bridge}\n  - {name: b, duration: 5, prompt: y}\n"
    )
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"invalid spec {path}:\n  models.video: kwaivgi/kling-v2.5-turbo-pro has no end-frame input")
    assert "\n  beats[0].transition: bridge needs a video model with an end-frame input" in err
    assert main(["estimate", str(path)]) == 2
