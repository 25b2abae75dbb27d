"""The `vidgen` command: exit codes and messages a user sees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vidgen_assets.cli import main
from vidgen_tests.conftest import EXAMPLES

VIDGEN = str(Path(sys.executable).with_name("vidgen"))


def test_validate_prints_the_plan(capsys):
    assert main(["validate", str(EXAMPLES / "sneaker-vertical.yaml")]) == 0
    out = capsys.readouterr().out
    assert "video sneaker-vertical: 15s (450 frames) at 576x1024 30 fps" in out
    assert "p000  night_run" in out and "ref:150f + cont:165f" in out and "fade 0.5s" in out
    assert "cta over the last beat: Shop the drop" in out
    assert "warnings: 0" in out


def test_validate_reports_truncation_warnings(tmp_path, capsys):
    spec = tmp_path / "many.yaml"
    beats = "".join(f"  - {{name: b{i}, duration: 5, prompt: shot {i}}}\n" for i in range(10))
    spec.write_text(f"prompt: p\nduration: 15\nbeats:\n{beats}")
    assert main(["validate", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "3 beat(s)" in out
    assert "the spec has 10 beats but a 15 s video allows at most 3" in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("prompt: [unclosed", "(file): not valid YAML or JSON"),
        ("duration: 30\n", "prompt: required field is missing"),
        ("prompt: p\nduration: -5\n", "duration: got -5; a video lasts 5 to 300 seconds"),
        ("prompt: p\nduration: 100000\n", "duration: got 100000"),
        ("prompt: p\nbeats: [{name: a, duration: 5, prompt: x, transition: swoosh}]\n",
         "beats[0].transition: unknown transition 'swoosh'"),
        ("prompt: p\naspect_ratio: '4:3'\n", "aspect_ratio: got '4:3'; allowed: '16:9', '9:16' or '1:1'"),
        ("prompt: p\nbeats: [{name: a, duration: 5, prompt: x, camera: dolly}]\n", "beats[0].camera: got 'dolly'"),
        ("id: ../escape\nprompt: p\n", "id: got '../escape'"),
        ("id: a/b\nprompt: p\n", "id: got 'a/b'"),
        ("prompt: p\nbeats: just one\n", "beats: beats must be a list of beats, got str"),
        ("- a list\n- not a spec\n", "(spec): a spec is a mapping of fields, got list"),
    ],
)  # fmt: skip
def test_invalid_specs_exit_2_naming_file_and_field(tmp_path, capsys, content, expected):
    spec = tmp_path / "bad.yaml"
    spec.write_text(content)
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert f"invalid spec {spec}:" in err
    assert expected in err


def test_render_of_an_invalid_spec_exits_2_and_writes_nothing(tmp_path):
    spec = tmp_path / "broken.yaml"
    spec.write_text("prompt: p\nbeats: [{name: a, duration: 5, prompt: x, transition: swoosh}]\n")
    data = tmp_path / "data"
    done = subprocess.run(
        [VIDGEN, "render", str(spec), "--data-dir", str(data), "--dagster-home", str(tmp_path / "home")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "beats[0].transition: unknown transition 'swoosh'" in done.stderr
    assert not data.exists()


@pytest.mark.slow
def test_render_prints_the_final_path_and_exits_0(tmp_path):
    spec = tmp_path / "short-one.yaml"
    spec.write_text("prompt: a short one\nduration: 5\nresolution: 480p\ncta: Bye\n")
    env = {**os.environ, "VIDGEN_DATA": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [VIDGEN, "render", str(spec)], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    final = tmp_path / "data" / "videos" / "short-one" / "final.mp4"
    assert lines[-1] == str(final)
    assert final.exists()
    assert any(line.startswith("[short-one] done in ") and "chunk_pairs" in line for line in lines)
    assert "[short-one] pair 1/1 done: p000" in done.stdout
    assert (tmp_path / "home" / "history").is_dir()  # runs recorded in the persistent instance
    # A new instance home gets vidgen's dagster.yaml: Dagster warns about nothing, shows no banner.
    assert (tmp_path / "home" / "dagster.yaml").is_file()
    for alarming in ("dagster.yaml", "Telemetry", "Welcome to Dagster", "Warning", "Traceback"):
        assert alarming not in done.stdout + done.stderr


BROKEN_FFMPEG = """#!/bin/sh
echo "ffmpeg version n7.1 Copyright (c) 2000-2024 the FFmpeg developers" >&2
echo "[vost#0:0 @ 0x5] Unknown encoder 'libx264'" >&2
echo "Error opening output files: Encoder not found" >&2
exit 1
"""


def _render_with_broken_ffmpeg(tmp_path, *flags):
    spec = tmp_path / "fails.yaml"
    spec.write_text("prompt: doomed\nduration: 5\nresolution: 480p\nmusic: false\n")
    ffmpeg = tmp_path / "ffmpeg"
    ffmpeg.write_text(BROKEN_FFMPEG)
    ffmpeg.chmod(0o755)
    env = {**os.environ, "VIDGEN_FFMPEG": str(ffmpeg), "VIDGEN_DATA": str(tmp_path / "data")}
    done = subprocess.run(
        [VIDGEN, "render", str(spec), "--dagster-home", str(tmp_path / "home"), *flags],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    return spec, done


@pytest.mark.slow
def test_a_failing_run_exits_1_saying_what_failed_and_where_in_a_few_lines(tmp_path):
    spec, done = _render_with_broken_ffmpeg(tmp_path)
    assert done.returncode == 1
    err = done.stderr.strip().splitlines()
    assert err[0].startswith(f"render of {spec} failed: video 'fails', run ")
    assert err[0].endswith(" of render_video:")
    assert err[1:3] == [
        "  generate: 1 of 1 chunk pair(s) failed (the others are stored):",
        "    chunk pair p000: MediaError: ffmpeg exited with code 1",
    ]
    assert err[-2:] == [
        "      Error opening output files: Encoder not found",
        "  (full traceback: vidgen render --verbose, or the run in the Dagster UI)",
    ]
    assert len(err) <= 7, done.stderr
    for noise in ("Traceback", "Stack Trace", 'File "', "dagster - ERROR", "command:"):
        assert noise not in done.stdout + done.stderr
    # What finished before the failure is intact.
    assert (tmp_path / "data" / "videos" / "fails" / "storyboard" / "beat_00.png").exists()


@pytest.mark.slow
def test_verbose_shows_the_full_traceback(tmp_path):
    spec, done = _render_with_broken_ffmpeg(tmp_path, "--verbose")
    assert done.returncode == 1
    assert f"render of {spec} failed: video 'fails', run " in done.stderr
    assert "chunk pair p000: MediaError: ffmpeg exited with code 1" in done.stderr
    assert "Stack Trace:" in done.stderr
    assert 'vidgen_assets/media/runner.py", line' in done.stderr
    assert "command: " in done.stderr and "Unknown encoder 'libx264'" in done.stderr
