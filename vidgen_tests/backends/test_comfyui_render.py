"""The ComfyUI example rendered end to end by `vidgen render` (Dagster run, real ffmpeg) against two fake
ComfyUI servers over real HTTP: pairs spread over the pool, a bridge from the first-last-frame workflow,
a server killed while it makes a chunk; then a re-render for nothing, and no server at all."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from vidgen_assets.cli import main
from vidgen_assets.media import probe
from vidgen_tests.backends.test_comfyui import spec_folder
from vidgen_tests.conftest import free_port
from vidgen_tests.fakes.comfyui_server import FakeComfyUI


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VIDGEN_COMFYUI_POLL_INTERVAL", "0.05")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    return tmp_path / "data"


def uploaded(fakes: list[FakeComfyUI], node: str, output_class: str) -> list[bytes]:
    """The image each prompt of `output_class` that ran had uploaded for LoadImage `node`."""
    return [
        fake.uploads[prompt[node]["inputs"]["image"]]
        for fake in fakes
        for pid, prompt in fake.prompts
        if pid in fake.ran and any(n["class_type"] == output_class for n in prompt.values())
    ]


@pytest.mark.slow
def test_the_example_renders_on_a_pool_of_two_with_a_bridge_and_survives_a_killed_server(tmp_path, cli_env, capsys):
    a, b = FakeComfyUI(run_s=0.2).start(), FakeComfyUI(run_s=0.2).start()
    try:
        folder = tmp_path / "spec"
        folder.mkdir()
        path = spec_folder(folder, [a.url, b.url])
        b.die_on_next("*", after=1, of="SaveVideo")  # b makes a chunk, then dies making its next job
        assert main(["render", str(path), "--data-dir", str(cli_env)]) == 0
        out = capsys.readouterr()
        video = cli_env / "videos" / "loft-tour"
        final = probe.probe(video / "final.mp4")
        assert (final.frames, final.width, final.height, final.fps) == (480, 854, 480, Fraction(24))
        assert final.has_audio  # the animatic's local bed, as the plan said
        assert "no music workflow" in out.out

        # One prompt per server at a time; the chunks were made on both servers; b's death is named, and
        # the job it was making (a chunk, or the bridge) came from a.
        assert (a.max_outstanding, b.max_outstanding) == (1, 1) and b.dead
        chunks = [c for k in ("p000", "p001", "p002")
                  for c in json.loads((video / "chunks" / f"{k}.json").read_text())["chunks"]]  # fmt: skip
        assert {c["server"] for c in chunks} == {a.url, b.url}
        bridge = json.loads((video / "bridges" / "b000.json").read_text())["generations"][0]
        moved = [g for g in [*chunks, bridge] if g.get("failed_over_from")]
        assert len(moved) == 1 and moved[0]["failed_over_from"] == b.url and moved[0]["server"] == a.url
        assert f"comfyui server {b.url} stopped answering" in out.out + out.err

        # The bridge came from the first-last-frame workflow, started on the outgoing chunk's exact last
        # frame and ended on the incoming beat's storyboard image; the continuous chunk started on the
        # exact last frame of the chunk before it.
        assert bridge["model"] == "comfyui:bridge" and bridge["workflow"] == "flf2v_wan21.json"
        assert set(uploaded([a, b], "52", "SaveAnimatedWEBP")) == {
            (video / "chunks" / "chunk_000.last.png").read_bytes()
        }
        assert set(uploaded([a, b], "53", "SaveAnimatedWEBP")) == {(video / "storyboard" / "beat_01.png").read_bytes()}
        assert probe.probe(video / "bridges" / "b000.mp4").frames == 24
        starts = uploaded([a, b], "52", "SaveVideo")
        assert (video / "chunks" / "chunk_002.last.png").read_bytes() in starts
        ran = len(a.ran) + len(b.ran)
        assert ran == 3 + 4 + 1 + 1  # 3 images, 4 chunks, 1 bridge, and the chunk b died making

        # Unchanged, rendered again: no prompt at all (the dead server is left out and named).
        assert main(["render", str(path), "--data-dir", str(cli_env)]) == 0
        again = capsys.readouterr()
        assert len(a.ran) + len(b.ran) == ran and "does not answer" in again.out + again.err
    finally:
        a.stop()
        b.stop()


def test_no_server_reachable_is_one_clear_error_and_nothing_is_written(tmp_path, cli_env, capsys):
    folder = tmp_path / "spec"
    folder.mkdir()
    path = spec_folder(folder, [f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"])
    assert main(["render", str(path), "--data-dir", str(cli_env)]) == 2
    err = capsys.readouterr().err
    assert "backend: no ComfyUI server reachable: http://127.0.0.1:" in err and err.count("\n") <= 3
    assert not (cli_env / "videos").exists()
