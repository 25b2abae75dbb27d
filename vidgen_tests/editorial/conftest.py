"""One small video rendered for the editor-export tests (480p, 12 s), shared by the tests of a worker:
a fade out of a beat whose last chunk lies wholly inside it (so the timeline needs the beat's tail), a
bridge, a dissolve, a caption, a CTA, music and a voiceover line."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from vidgen_assets.core.plan import Plan
from vidgen_assets.core.spec import load_spec
from vidgen_assets.runner import Runner
from vidgen_assets.settings import Settings
from vidgen_assets.storage.artifacts import load_plan
from vidgen_assets.storage.store import LocalStore

SPEC = """\
id: edit-sample
prompt: "a 12 second ad for a cold brew coffee brand"
duration: 12
aspect_ratio: "16:9"
resolution: 480p
fps: 24
beats:
  - {name: hero, duration: 5, prompt: "a bottle on a counter", camera: push_in, text: "Wake up different",
     transition: fade, transition_duration: 1.5}
  - {name: pour, duration: 3.5, prompt: "a slow pour over ice", camera: pan_right, say: "Steeped for twenty hours.",
     transition: bridge}
  - {name: offer, duration: 3.5, prompt: "the bottle and a glass", camera: pull_out}
music: {mood: upbeat, bpm: 110, volume: 0.8}
cta: "Order today"
seed: 3
"""


@dataclass(frozen=True)
class Rendered:
    spec_path: Path
    settings: Settings
    plan: Plan

    @property
    def video(self) -> Path:
        return self.settings.data_dir / "videos" / self.plan.video_id


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rendered]:
    """The sample spec rendered once (copy stitch path), with its final.otio."""
    root = tmp_path_factory.mktemp("edit-sample")
    spec_path = root / "edit-sample.yaml"
    spec_path.write_text(SPEC)
    settings = Settings(data_dir=root / "data", chunk_seconds=5.0, max_parallel_pairs=2)
    home = root / "dagster_home"
    home.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.BetaWarning)
        Runner(settings, home, progress=lambda _: None).render(load_spec(spec_path), SPEC)
    plan = load_plan(LocalStore(settings.data_dir), "edit-sample")
    assert plan is not None
    yield Rendered(spec_path, settings, plan)
