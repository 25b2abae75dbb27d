"""`vidgen export` as a user runs it: every format written beside the final video and read back by
OpenTimelineIO; bad input refused with exit 2, a message naming what is missing, and nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import opentimelineio as otio
import pytest

from vidgen_assets.cli import main
from vidgen_assets.editorial import otio_timeline
from vidgen_tests.conftest import S3Server
from vidgen_tests.editorial.conftest import SPEC, Rendered

FILES = {"otio": "final.otio", "edl": "final.edl", "fcpxml": "final.fcpxml", "kdenlive": "final.kdenlive"}


def snapshot(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def copied(rendered: Rendered, tmp_path: Path) -> Path:
    """A copy of the rendered video's data dir, to break."""
    data = tmp_path / "data"
    shutil.copytree(rendered.settings.data_dir / "videos", data / "videos")
    return data


@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(FILES))
def test_export_writes_each_format_beside_the_final_video_and_prints_its_path(rendered: Rendered, fmt, capsys):
    data = str(rendered.settings.data_dir)
    assert main(["export", str(rendered.spec_path), "--format", fmt, "--data-dir", data]) == 0
    out = capsys.readouterr().out.strip()
    assert out == str(rendered.video / FILES[fmt])
    text = Path(out).read_text(encoding="utf-8")
    plan = rendered.plan
    if fmt == "otio":
        found = otio_timeline.read_back(otio_timeline.from_json(text), plan.fps)
        assert found.duration == plan.total_frames
        assert [b[1:] for b in found.beats] == [(b.start_frame, b.frames) for b in plan.beats]
        assert [(t[1], t[3]) for t in found.transitions] == [(j.offset_frame, j.frames) for j in plan.joins
                                                               if j.transition == "fade"]  # fmt: skip
    elif fmt == "edl":
        [track] = otio.adapters.read_from_string(text, "cmx_3600", rate=plan.fps).tracks
        assert otio_timeline.frames(track.duration(), plan.fps) == plan.total_frames
        assert "LOC: 00:00:00:00 RED     WAKE UP DIFFERENT" in text and "ORDER TODAY" in text  # titles: markers
    elif fmt == "fcpxml":
        [timeline] = list(otio.adapters.read_from_string(text, "fcpx_xml"))
        assert {t.kind for t in timeline.tracks} == {otio.schema.TrackKind.Video, otio.schema.TrackKind.Audio}
    # Every media path in the file is relative and there, beside it.
    for name in ("chunks/chunk_000.mp4", "chunks/p000.tail.mp4", "bridges/b001.mp4"):
        assert name in text and (rendered.video / name).is_file()
    if fmt != "edl":  # (the EDL has one picture track: the titles are markers, no sound)
        for name in ("music.m4a", "voice/line_01.wav"):
            assert name in text and (rendered.video / name).is_file()
    if fmt in ("otio", "kdenlive"):  # the titles as images (FCPXML has them as Basic Title text)
        for name in ("titles/beat_00.png", "titles/cta.png"):
            assert name in text and (rendered.video / name).is_file()


@pytest.mark.slow
def test_a_registered_video_id_exports_too(rendered: Rendered, capsys):
    assert main(["export", "edit-sample", "--format", "edl", "--data-dir", str(rendered.settings.data_dir)]) == 0
    assert capsys.readouterr().out.strip() == str(rendered.video / "final.edl")


@pytest.mark.slow
def test_an_unknown_format_lists_the_allowed_ones_and_writes_nothing(copied: Path, capsys):
    before = snapshot(copied)
    assert main(["export", "edit-sample", "--format", "mp4", "--data-dir", str(copied)]) == 2
    assert capsys.readouterr().err.strip() == (
        "vidgen export: unknown format 'mp4'; allowed: otio, edl, fcpxml, kdenlive"
    )
    assert snapshot(copied) == before


def test_a_video_not_rendered_yet_is_refused(tmp_path: Path, capsys):
    spec = tmp_path / "edit-sample.yaml"
    spec.write_text(SPEC)
    for target in (str(spec), "edit-sample"):
        assert main(["export", target, "--format", "otio", "--data-dir", str(tmp_path / "data")]) == 2
        err = capsys.readouterr().err
        assert "video 'edit-sample'" in err and "is not rendered yet" in err and "vidgen render SPEC" in err
    assert not (tmp_path / "data").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("remove", "named"),
    [
        ("chunks/chunk_003.mp4", "missing chunks/chunk_003.mp4"),
        ("chunks/p001.json", "missing chunk pair p001 (chunks/p001.json)"),
        ("bridges/b001.mp4", "missing bridges/b001.mp4"),
        ("titles/cta.png", "missing titles/cta.png"),
        ("final.json", "is not rendered yet: no final video"),
    ],
)
def test_an_incomplete_video_names_what_is_missing_and_writes_nothing(copied: Path, remove, named, capsys):
    video = copied / "videos" / "edit-sample"
    (video / remove).unlink()
    before = snapshot(copied)
    for fmt in FILES:
        assert main(["export", "edit-sample", "--format", fmt, "--data-dir", str(copied)]) == 2
        err = capsys.readouterr().err
        assert named in err and "vidgen render SPEC" in err, err
    assert snapshot(copied) == before


@pytest.mark.slow
def test_a_video_whose_pieces_changed_after_its_final_video_is_refused(copied: Path, capsys):
    video = copied / "videos" / "edit-sample"
    record = video / "chunks" / "p002.json"
    record.write_text(record.read_text().replace('"fingerprint": "', '"fingerprint": "0', 1))
    assert main(["export", "edit-sample", "--data-dir", str(copied)]) == 2
    err = capsys.readouterr().err
    assert "the stitched video in the store was not made from its current plan" in err


@pytest.mark.slow
def test_a_spec_file_changed_since_the_render_is_refused(rendered: Rendered, tmp_path: Path, capsys):
    spec = tmp_path / "edit-sample.yaml"
    spec.write_text(SPEC.replace('cta: "Order today"', 'cta: "Try it free"'))
    assert main(["export", str(spec), "--data-dir", str(rendered.settings.data_dir)]) == 2
    err = capsys.readouterr().err
    assert "has changed since video 'edit-sample' was rendered (cta)" in err


@pytest.mark.slow
def test_s3_media_are_reached_from_the_exports_folder(rendered: Rendered, s3: S3Server, monkeypatch, capsys):
    client = s3.client()
    for path in rendered.video.rglob("*"):
        if path.is_file():
            key = f"renders/videos/edit-sample/{path.relative_to(rendered.video).as_posix()}"
            client.upload_file(str(path), s3.bucket, key)
    monkeypatch.setenv("VIDGEN_STORAGE", "s3")
    monkeypatch.setenv("VIDGEN_S3_BUCKET", s3.bucket)
    monkeypatch.setenv("VIDGEN_S3_PREFIX", "renders")
    assert main(["export", "edit-sample", "--format", "otio"]) == 0
    folder = f"s3://{s3.bucket}/renders/videos/edit-sample/"
    assert capsys.readouterr().out.strip() == folder + "final.otio"
    text = client.get_object(Bucket=s3.bucket, Key="renders/videos/edit-sample/final.otio")["Body"].read().decode()
    timeline = otio_timeline.from_json(text)
    media = timeline.metadata["vidgen"]["media"]
    assert media["folder"] == folder and f"aws s3 sync {folder} ./edit-sample" in media["s3"]
    urls = {c.media_reference.target_url for c in timeline.find_clips()}
    assert "chunks/chunk_000.mp4" in urls and all(not u.startswith(("/", "s3:")) for u in urls)
