"""report.html on a really rendered video: every link resolves, images are real, the plan, costs,
timings and checks are all there, and it needs nothing from the network."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
import pytest
from PIL import Image

from vidgen_assets.core.plan import Plan
from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.defs.report import check_results, publish, stage_timings
from vidgen_assets.media.timeline import WIDTH, image_height
from vidgen_assets.report import (
    REPORT,
    THUMB_WIDTH,
    CheckResult,
    build_report,
    collect,
    write_report,
)
from vidgen_assets.runner import Runner
from vidgen_assets.settings import Settings
from vidgen_assets.storage.artifacts import load_plan
from vidgen_assets.storage.s3 import S3Store
from vidgen_assets.storage.store import LocalStore
from vidgen_tests.conftest import S3Server

SPEC = """id: report-check
prompt: a report worth <reading> & checking
duration: 10
resolution: 480p
cta: Buy "now"
music: {mood: calm, bpm: 96, volume: 0.7}
beats:
  - {name: opening_shot, duration: 5, prompt: a sunrise, camera: push_in, text: Morning, transition: fade}
  - {name: closing_shot, duration: 5, prompt: a sunset, camera: pan_left}
"""


@dataclass(frozen=True)
class Rendered:
    plan: Plan
    folder: Path
    store: LocalStore
    home: Path


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.alts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.refs.append((tag, name, value))
            if name == "alt" and value is not None:
                self.alts.append(value)


def links(page: str) -> Links:
    parser = Links()
    parser.feed(page)
    return parser


def decode_image(uri: str) -> Image.Image:
    head, data = uri.split(",", 1)
    assert head in ("data:image/jpeg;base64", "data:image/png;base64")
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    image.load()
    return image


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rendered]:
    root = tmp_path_factory.mktemp("report")
    home = root / "home"
    home.mkdir()
    settings = Settings(data_dir=root / "data", max_parallel_pairs=2)
    spec = read_spec_text(SPEC, "report-check.yaml")
    Runner(settings, home, progress=lambda _: None).render(spec, SPEC)
    store = LocalStore(settings.data_dir)
    plan = load_plan(store, spec.id)
    assert plan is not None
    yield Rendered(plan, settings.data_dir / "videos" / spec.id, store, home)


@pytest.mark.slow
def test_the_report_sits_beside_the_final_video_and_every_link_resolves(rendered: Rendered):
    key = write_report(rendered.store, rendered.plan)
    assert key == "videos/report-check/report.html"
    page_path = rendered.folder / REPORT
    page = page_path.read_text(encoding="utf-8")
    refs = links(page).refs
    relative = {value for _, _, value in refs if not value.startswith("data:")}
    for value in relative:
        parsed = urlparse(value)
        assert not parsed.scheme and not parsed.netloc and not value.startswith("/"), f"not relative: {value}"
        assert (page_path.parent / value).is_file(), f"{value} does not resolve beside report.html"
    # Every artifact in the video's folder is linked (the report itself aside).
    on_disk = {p.relative_to(rendered.folder).as_posix() for p in rendered.folder.rglob("*") if p.is_file()}
    assert on_disk - {REPORT} <= relative
    for expected in ("final.mp4", "stitched.mp4", "music.wav", "spec.json", "spec.source.yaml",
                     "storyboard/beat_00.png", "storyboard/beat_01.png", "chunks/chunk_000.mp4",
                     "chunks/chunk_001.mp4", "chunks/p000.json", "chunks/p001.json", "final.json"):  # fmt: skip
        assert expected in relative
    assert ("video", "src", "final.mp4") in refs
    # Offline: nothing is fetched from anywhere.
    assert "http://" not in page and "https://" not in page


@pytest.mark.slow
def test_the_report_shows_storyboard_timeline_plan_and_costs(rendered: Rendered):
    inputs = collect(rendered.store, rendered.plan)
    page = build_report(rendered.plan, inputs)
    parsed = links(page)
    images = {alt: value for (tag, name, value), alt in zip(
        [r for r in parsed.refs if r[0] == "img"], parsed.alts, strict=True)}  # fmt: skip
    for beat in rendered.plan.beats:
        thumb = decode_image(images[f"storyboard {beat.name}"])
        assert thumb.width == THUMB_WIDTH and thumb.height == round(THUMB_WIDTH * 480 / 854)
        assert f"{beat.index}: {beat.name} · " in page  # each beat named in the storyboard and plan
        assert f"<td>{beat.name}</td>" in page
    timeline = decode_image(images["timeline of report-check"])
    assert timeline.size == (WIDTH, image_height())
    # Escaped user text, the plan's numbers and the stage table.
    assert "a report worth &lt;reading&gt; &amp; checking" in page
    assert "<td>Buy &#34;now&#34;</td>" in page  # markupsafe's escape of a double quote
    assert "10 s (240 frames)" in page and "854x480 @ 24 fps" in page
    assert "fade 0.5s" in page and "reference 132f" in page
    final = json.loads((rendered.folder / "final.json").read_text())
    assert f"${final['cost_usd']:.4f}" in page
    for stage in ("storyboard", "chunk_pair/p000", "chunk_pair/p001", "music", "stitched_video", "final_video"):
        assert f"<tr><td>{stage}</td>" in page
    assert "not made" not in page
    assert "No check results were given" in page


@pytest.mark.slow
def test_timings_and_checks_come_from_the_instance(rendered: Rendered):
    with dg.DagsterInstance.from_config(str(rendered.home)) as instance:
        timings = stage_timings(instance, rendered.plan)
        checks = check_results(instance, rendered.plan.video_id)
    assert set(timings) == {
        "video_spec", "storyboard", "music", "voice", "chunk_pairs", "chunk_pair/p000", "chunk_pair/p001",
        "stitched_video", "soundtrack", "final_video",
    }  # fmt: skip
    # Each is a part of the render's runs (no stage takes longer than the runs that made it), none is negative.
    with dg.DagsterInstance.from_config(str(rendered.home)) as instance:
        records = [instance.get_run_record_by_id(run.run_id) for run in instance.get_runs()]
    spans = [(r.start_time, r.end_time) for r in records if r is not None and r.start_time and r.end_time]
    render_s = max(end for _, end in spans) - min(start for start, _ in spans)
    assert spans and all(0 <= seconds <= render_s for seconds in timings.values()) and timings["chunk_pairs"] > 0
    assert {c.name: c.passed for c in checks} == {
        "storyboard_image_per_beat": True, "stitched_matches_plan": True, "final_matches_spec": True,
        "final_loudness_on_target": True, "final_text_in_safe_area": True, "final_picture_and_sound_qc": True,
        "chunks_pass_qc": True, "bridges_pass_qc": True,
    }  # fmt: skip
    page = build_report(rendered.plan, collect(rendered.store, rendered.plan), checks, timings)
    assert page.count('<span class="pass">passed</span>') == 8
    assert f"{timings['chunk_pair/p001']:.1f} s" in page
    failed = build_report(rendered.plan, collect(rendered.store, rendered.plan), [CheckResult("x", False, "why")])
    assert '<span class="fail">FAILED</span>' in failed and "<td>why</td>" in failed


@pytest.mark.slow
def test_the_report_is_written_to_s3_the_same_way(rendered: Rendered, s3: S3Server, tmp_path: Path):
    store = S3Store(s3.bucket, "site", cache_dir=tmp_path / "cache")
    for path in sorted(rendered.folder.rglob("*")):
        if path.is_file() and path.name != REPORT:
            store.put_file(f"videos/report-check/{path.relative_to(rendered.folder).as_posix()}", path)
    key = write_report(store, rendered.plan)
    assert "site/videos/report-check/report.html" in s3.keys("site/")
    obj = s3.client().get_object(Bucket=s3.bucket, Key=f"site/{key}")
    assert obj["ContentType"] == "text/html"
    page = obj["Body"].read().decode("utf-8")
    relative = {v for _, _, v in links(page).refs if not v.startswith("data:")}
    assert {k.removeprefix("site/videos/report-check/") for k in s3.keys("site/")} - {REPORT} <= relative


def test_a_report_before_anything_is_rendered_says_so():
    from vidgen_assets.core.planner import plan_spec
    from vidgen_assets.report import ReportInputs

    plan = plan_spec(read_spec_text(SPEC, "report-check.yaml"), 5.0)
    page = build_report(plan, ReportInputs())
    assert "not rendered yet" in page
    assert page.count("no storyboard image yet") == 2
    assert page.count("<td colspan=3>not made</td>") == 7  # spec, storyboard, 2 pairs, music, stitched, final
    assert "<video" not in page and "opening_shot" in page and "closing_shot" in page


@pytest.mark.slow
def test_publish_uses_the_instance_and_the_result_a_check_is_about_to_report(rendered: Rendered):
    with dg.DagsterInstance.from_config(str(rendered.home)) as instance:
        key = publish(instance, rendered.store, rendered.plan, [CheckResult("final_matches_spec", False, "late")])
    page = (rendered.folder / REPORT).read_text(encoding="utf-8")
    assert key == "videos/report-check/report.html"
    assert page.count('<span class="pass">passed</span>') == 7  # all but final_matches_spec: the instance's
    assert '<tr><td>final_matches_spec</td><td><span class="fail">FAILED</span></td><td>late</td></tr>' in page
    assert " s</td>" in page  # wall times came along
