"""A spec file with variants through the daemon's path, ticked by hand against a real instance:
the comparison page is written by each video's own run and fills in as they finish; a CSV of rows is
part of the set (an edited row re-runs that variant only); a variant taken out of the file keeps its
outputs and its partition, and drops off the page."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import pytest

from vidgen_tests.defs.test_sensors import launch, requested, spec_settings, tick

pytestmark = pytest.mark.slow

SPEC = (
    "prompt: one\nduration: 5\nresolution: 480p\nmusic: false\ncta: Order today\n"
    "beats: [{name: hero, duration: 5, prompt: x, text: Wake up}]\n"
)
LISTED = SPEC + "variants:\n  - {name: b, cta: Try it free}\n  - {name: vertical, aspect_ratio: '9:16'}\n"


def only(result: dg.SensorResult, *videos: str) -> dg.SensorResult:
    """The tick's result with the run requests of `videos` only (what the daemon would have run so far)."""
    runs = [r for r in result.run_requests or [] if r.partition_key in videos]
    return dg.SensorResult(run_requests=runs, dynamic_partitions_requests=result.dynamic_partitions_requests)


def cards(page: str) -> dict[str, str]:
    """Each video's card on the page: its id -> its HTML."""
    return dict(re.findall(r'<section class="card"><h2>([^<]+)</h2>(.*?)</section>', page))


def test_the_comparison_page_is_written_by_each_videos_run_and_fills_in(tmp_path, settings, instance) -> None:
    settings = spec_settings(tmp_path, settings)
    specs = Path(settings.spec_dir)
    (specs / "ad.yaml").write_text(LISTED)
    first = tick("spec_files", instance, settings)
    assert requested(first) == [("render_video", "ad"), ("render_video", "ad--b"), ("render_video", "ad--vertical")]
    videos = settings.data_dir / "videos"

    # The first run to finish is a variant's: the page is there, with it made and the others pending.
    [run] = launch(only(first, "ad--b"), settings, instance)
    assert run.success
    page = cards((videos / "ad" / "variants.html").read_text())
    assert list(page) == ["ad", "ad--b", "ad--vertical"]
    assert 'src="../ad--b/final.mp4"' in page["ad--b"] and "checks: " in page["ad--b"]
    assert "pending: not made yet" in page["ad"] and "pending: not made yet" in page["ad--vertical"]
    assert (videos / "ad--b" / "posters" / "beat_00.jpg").is_file()
    assert not (videos / "ad" / "final.mp4").exists()

    # Then the others: every card plays its video, and the contact sheet lines up their beat 0.
    assert all(r.success for r in launch(only(first, "ad", "ad--vertical"), settings, instance))
    html = (videos / "ad" / "variants.html").read_text()
    page = cards(html)
    assert all(f'src="../{vid}/final.mp4"' in page[vid] for vid in page) and "pending" not in html
    assert "<p>3 of 3 made</p>" in html and "480x854 9:16" in page["ad--vertical"]
    assert all(f'<img src="../{vid}/posters/beat_00.jpg"' in html for vid in page)

    # The vertical variant taken out of the file: the spec's own video runs again (its set changed) and
    # re-writes the page without it; the vertical video keeps its final video and its partition.
    (specs / "ad.yaml").write_text(LISTED.replace("  - {name: vertical, aspect_ratio: '9:16'}\n", ""))
    again = tick("spec_files", instance, settings, first.cursor)
    assert requested(again) == [("render_video", "ad")]
    assert all(r.success for r in launch(again, settings, instance))
    assert list(cards((videos / "ad" / "variants.html").read_text())) == ["ad", "ad--b"]
    assert (videos / "ad--vertical" / "final.mp4").is_file()
    assert instance.has_dynamic_partition("videos", "ad--vertical")
    # Re-made on its own (from the UI, say), the removed variant does not put itself back on the page.
    launch(dg.SensorResult(run_requests=[dg.RunRequest(partition_key="ad--vertical", job_name="render_video")]),
           settings, instance)  # fmt: skip
    assert list(cards((videos / "ad" / "variants.html").read_text())) == ["ad", "ad--b"]


def test_a_csv_of_rows_is_part_of_the_set_the_sensor_sees(tmp_path, settings, instance) -> None:
    settings = spec_settings(tmp_path, settings)
    specs = Path(settings.spec_dir)
    (specs / "ad.yaml").write_text(SPEC + "variants: {file: rows.csv}\n")
    (specs / "rows.csv").write_text("name,cta\nb,Try it free\nc,Buy now\n")
    first = tick("spec_files", instance, settings)
    assert requested(first) == [("render_video", "ad"), ("render_video", "ad--b"), ("render_video", "ad--c")]
    assert all(r.success for r in launch(first, settings, instance))
    videos = settings.data_dir / "videos"
    assert "cta: Buy now" in (videos / "ad--c" / "spec.source.yaml").read_text()
    assert list(cards((videos / "ad" / "variants.html").read_text())) == ["ad", "ad--b", "ad--c"]
    assert requested(tick("spec_files", instance, settings, first.cursor)) == []  # nothing changed

    # One row edited: that variant runs again, and the spec's own video (its set's page changes: it makes
    # nothing new); the other row, unchanged and made, does not.
    made = {vid: (videos / vid / "final.mp4").stat().st_mtime_ns for vid in ("ad", "ad--b")}
    (specs / "rows.csv").write_text("name,cta\nb,Try it free\nc,Buy it today\n")
    edited = tick("spec_files", instance, settings, first.cursor)
    assert requested(edited) == [("render_video", "ad"), ("render_video", "ad--c")]
    assert all(r.success for r in launch(edited, settings, instance))
    assert made == {vid: (videos / vid / "final.mp4").stat().st_mtime_ns for vid in ("ad", "ad--b")}
    assert "cta: Buy it today" in (videos / "ad--c" / "spec.source.yaml").read_text()
    assert "cta=&#39;Buy it today&#39;" in (videos / "ad" / "variants.html").read_text()

    # A bad CSV is the file's rejection, named by row and column; nothing is requested.
    (specs / "rows.csv").write_text("name,fps\nb,31\n")
    bad = tick("spec_files", instance, settings, edited.cursor)
    assert requested(bad) == []
    record = (settings.data_dir / "rejected" / "ad.yaml.error.txt").read_text()
    assert "variants.file: row 2, column fps: got 31; allowed: 24, 25 or 30" in record
