"""ComfyUI workflow files beside the spec: refused with field errors (exit 2, nothing written), stored with
the video, and read back from the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vidgen_assets.cli import main
from vidgen_assets.comfy_workflows import read_local_workflows, store_workflows, stored_workflows
from vidgen_assets.core.spec import SpecError, load_spec
from vidgen_assets.storage.store import LocalStore
from vidgen_tests.backends.test_comfyui import spec_folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "spec"
    path.mkdir()
    spec_folder(path, ["http://127.0.0.1:8188"])
    return path


def errors_of(path: Path) -> dict[str, str]:
    spec = load_spec(path)
    with pytest.raises(SpecError) as found:
        read_local_workflows(spec, path)
    return {e.path: e.message for e in found.value.errors}


def test_bad_workflow_files_are_field_errors_naming_the_job_and_what_to_do(folder):
    spec = folder / "loft-tour.yaml"
    (folder / "i2v_wan22_14b.json").write_text("{not json")
    ui = {"last_node_id": 3, "nodes": [{"id": 1, "type": "LoadImage"}], "links": [], "version": 0.4}
    (folder / "flf2v_wan21.json").write_text(json.dumps(ui))
    (folder / "t2i_flux_schnell.json").unlink()
    found = errors_of(spec)
    assert found["comfyui.workflows.video.file"].startswith("'i2v_wan22_14b.json' is not JSON (")
    assert 'use "Export (API)"' in found["comfyui.workflows.bridge.file"]
    assert found["comfyui.workflows.image.file"].startswith("no file 't2i_flux_schnell.json' in the spec's folder")
    outside = spec.read_text().replace("file: t2i_flux_schnell.json", "file: ../t2i.json")
    spec.write_text(outside)
    assert "leaves the spec's folder" in errors_of(spec)["comfyui.workflows.image.file"]


def test_validate_and_render_refuse_a_binding_the_workflow_lacks_with_exit_2_and_write_nothing(
    folder, tmp_path, capsys
):
    spec = folder / "loft-tour.yaml"
    spec.write_text(spec.read_text().replace('start_image: "52.image"\n      output: "61"',
                                             'start_image: "52.img"\n      output: "61"'))  # fmt: skip
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "comfyui.workflows.video.start_image: node 52 (LoadImage) has no input 'img'; its inputs: image" in err
    assert main(["render", str(spec), "--data-dir", str(tmp_path / "data")]) == 2
    assert not (tmp_path / "data").exists()


def test_workflows_are_stored_with_the_video_and_read_back_as_registered(folder, tmp_path):
    path = folder / "loft-tour.yaml"
    spec = load_spec(path)
    loaded = read_local_workflows(spec, path)
    store = LocalStore(tmp_path / "data")
    store_workflows(store, spec.id, loaded)
    assert (tmp_path / "data" / "videos" / "loft-tour" / "comfyui" / "video.json").read_bytes() == (
        folder / "i2v_wan22_14b.json"
    ).read_bytes()
    again = stored_workflows(store, spec)
    assert [(w.stage, w.sha256) for w in again] == [(w.stage, w.sha256) for w in loaded]
    assert not list((tmp_path / "data").rglob("*.tmp*"))
    with pytest.raises(ValueError, match="none were registered"):
        stored_workflows(LocalStore(tmp_path / "other"), spec)
