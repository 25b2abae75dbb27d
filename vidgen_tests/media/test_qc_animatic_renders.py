"""The animatic raises no false alarm on generated specs: every chunk and bridge of a generated spec,
rendered by the CLI into a temporary data dir as a user renders it, passes every clip check, and its
final video its own (`qc_measure`). Every example is held to the same in `defs/test_render_examples.py`,
on the render that test makes anyway."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from vidgen_assets.cli import main
from vidgen_assets.core.spec import SpecError, read_spec_text
from vidgen_tests.core.spec_strategies import BEAT_FIELDS, SPEC_FIELDS
from vidgen_tests.media.qc_measure import failed, final_checks, stored_clip_checks

pytestmark = pytest.mark.slow


def render(spec: Path, tmp: Path) -> list[Path]:
    """`vidgen render SPEC` into a fresh data dir and instance: the folder of every video it made."""
    data = tmp / "data"
    assert main(["render", str(spec), "--data-dir", str(data), "--dagster-home", str(tmp / "dh")]) == 0
    return sorted(p for p in (data / "videos").iterdir() if (p / "final.mp4").exists())


def _beat(draw: st.DrawFn, index: int) -> dict[str, Any]:
    beat: dict[str, Any] = {"name": f"b{index}", "prompt": f"shot {index}", "duration": draw(st.integers(2, 4))}
    for name in ("camera", "transition", "transition_duration", "text"):
        if draw(st.booleans()):
            beat[name] = draw(BEAT_FIELDS[name][0])
    return beat


@st.composite
def small_specs(draw: st.DrawFn) -> dict[str, Any]:
    """Small animatic specs (5-8 s, 480p, two beats) with the fields drawn from `spec_strategies`:
    frame shape, frame rate, style, seed, CTA, and per beat camera move, transition and its length, text."""
    beats = [_beat(draw, i) for i in range(2)]
    data: dict[str, Any] = {"id": "qc-generated", "prompt": "generated", "resolution": "480p", "beats": beats}
    data["duration"] = max(5, sum(b["duration"] for b in beats))
    for name in ("aspect_ratio", "fps", "style", "seed", "cta"):
        if draw(st.booleans()):
            data[name] = draw(SPEC_FIELDS[name][0])
    data["music"] = False
    return data


@settings(max_examples=4, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_specs())
def test_generated_animatic_specs_raise_no_false_alarm(data: dict[str, Any]) -> None:
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    try:
        read_spec_text(text, "qc-generated.yaml")
    except SpecError:
        assume(False)  # a bridge longer than half its beat and the like: refused, nothing to check
    with tempfile.TemporaryDirectory(prefix="qc-gen-") as tmp:
        spec = Path(tmp) / "qc-generated.yaml"
        spec.write_text(text, encoding="utf-8")
        (video,) = render(spec, Path(tmp))
        assert failed(stored_clip_checks(video)) == {}, text
        assert [r.name for r in final_checks(video) if not r.passed] == [], text
