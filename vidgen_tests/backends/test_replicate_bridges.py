"""The bridge example rendered against the fake Replicate API: real Dagster runs, real ffmpeg, the real
client over HTTP; the cost equals the estimate and a second render makes no call."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from vidgen_assets.cli import main
from vidgen_assets.core.spec import load_spec
from vidgen_assets.media import probe
from vidgen_assets.runner import Runner
from vidgen_tests.conftest import EXAMPLES

pytestmark = pytest.mark.slow

EXAMPLE = EXAMPLES / "bridge-tour.yaml"
HAILUO = "minimax/hailuo-02"


@pytest.fixture
def replicate_example(tmp_path: Path) -> Path:
    path = tmp_path / "bridge-tour.yaml"
    path.write_text(EXAMPLE.read_text() + "backend: replicate\n")
    return path


def test_the_example_renders_against_the_fake_api_at_its_estimate_then_for_nothing(
    replicate_env, replicate_example, settings, home, capsys
):
    fake = replicate_env
    assert main(["estimate", str(replicate_example)]) == 0
    out = capsys.readouterr().out
    total = next(line for line in out.splitlines() if line.startswith("total")).split()[-1]
    assert total == "$1.674" and "bridges     minimax/hailuo-02                            2        $0.27" in out
    spec = load_spec(replicate_example)
    report = Runner(settings, home, progress=print).render(spec, replicate_example.read_text())
    video = settings.data_dir / "videos" / spec.id
    assert Decimal(str(report.cost_usd)) == Decimal("1.674")
    record = json.loads((video / "final.json").read_text())
    assert record["cost_by_stage"] == {"storyboard": 0.012, "chunks": 1.08, "bridges": 0.54, "music": 0.042}
    assert probe.probe(video / "final.mp4").frames == 480
    # Six hailuo clips: four chunks and two bridges; each bridge sent the outgoing pair's exact last frame
    # as its first frame and the incoming storyboard image as its last, and asked for a 6 s clip.
    assert fake.create_count(HAILUO) == 6
    bridges = [i for i, (model, sent) in enumerate(fake.creates) if "last_frame_image" in sent]
    assert len(bridges) == 2
    sent = {fake.sent_images(i)["last_frame_image"][0]: fake.sent_images(i)["first_frame_image"][0] for i in bridges}
    chunks = video / "chunks"
    assert sent[(video / "storyboard" / "beat_01.png").read_bytes()] == (chunks / "chunk_000.last.png").read_bytes()
    assert sent[(video / "storyboard" / "beat_03.png").read_bytes()] == (chunks / "chunk_002.last.png").read_bytes()
    assert all(fake.creates[i][1]["duration"] == 6 for i in bridges)

    # A second render makes zero calls.
    before = len(fake.requests)
    again = Runner(settings, home, progress=print).render(spec, replicate_example.read_text())
    assert len(fake.requests) == before and again.final_uri == report.final_uri
