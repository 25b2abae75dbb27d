"""Extreme but valid specs render end to end (small and short, real Dagster runs, real ffmpeg): beats
shorter than a frame, 1-frame beats and transitions, transitions longer than the beat they lead into,
multi-line text with emoji and right-to-left script, camera moves over several chunks. Every preview is
drawn (the timeline, the contact sheets, report.html) and the final video is the spec's."""

from __future__ import annotations

from fractions import Fraction

import dagster as dg
import pytest
import yaml

from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.media import probe
from vidgen_assets.runner import Runner
from vidgen_tests.defs.test_render_examples import check_results

pytestmark = pytest.mark.slow

SPECS = {
    "tiny-beats": {
        "duration": 10, "aspect_ratio": "9:16", "fps": 24, "cta": "Order today 🛒\nnow",
        "beats": [
            {"name": "blink", "duration": 1 / 24, "prompt": "one frame", "camera": "pull_out",
             "transition": "fade", "transition_duration": 5, "text": "Wake up\ndifferent 😀"},
            {"name": "reveal\nline", "duration": 9.9, "prompt": "the bottle 瓶", "camera": "pan_right",
             "text": "مرحبا\nبالعالم \u202e☕"},
        ],
    },
    "one-frame-transitions": {
        "duration": 10, "aspect_ratio": "1:1", "fps": 30, "music": False,
        "beats": [
            {"name": "a", "duration": 0.01, "prompt": "shorter than a frame: dropped"},
            {"name": "b", "duration": 4, "prompt": "pull out", "camera": "pull_out", "transition": "dissolve",
             "transition_duration": 1 / 30, "text": "x" * 300},
            {"name": "c", "duration": 6, "prompt": "pan left " * 100, "camera": "pan_left", "text": "\n\n\n"},
        ],
    },
    "three-chunk-pan": {
        "duration": 14, "aspect_ratio": "16:9", "fps": 25,
        "beats": [{"name": "long pan", "duration": 14, "prompt": "a pan across three chunks", "camera": "pan_left",
                   "text": "line one\nline two\ttabbed 👩‍👩‍👧‍👦"}],
    },
}  # fmt: skip


def asset_metadata(instance: dg.DagsterInstance, asset: str) -> dict[str, object]:
    event = instance.get_latest_materialization_event(dg.AssetKey(asset))
    assert event is not None and event.asset_materialization is not None
    return {key: value.value for key, value in event.asset_materialization.metadata.items()}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_extreme_spec_renders_with_every_preview(name: str, settings, home, instance) -> None:
    text = yaml.safe_dump({"id": name, "prompt": "an extreme spec", "resolution": "480p", **SPECS[name]})
    spec = read_spec_text(text, f"{name}.yaml")
    Runner(settings, home, progress=lambda _: None).render(spec, text)
    video = settings.data_dir / "videos" / name

    final = probe.probe(video / "final.mp4")
    assert final.frames == round(spec.duration * spec.fps)
    assert (final.width, final.height, final.fps) == (*spec.size, Fraction(spec.fps))
    assert final.has_audio == (spec.music is not None)
    assert all(check_results(instance).values())

    for asset, key, picture in (("video_spec", "timeline", "png"), ("storyboard", "preview", "jpeg"),
                                ("final_video", "preview", "jpeg")):  # fmt: skip
        shown = str(asset_metadata(instance, asset)[key])
        assert f"(data:image/{picture};base64," in shown, (asset, shown[:200])
    page = (video / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page
