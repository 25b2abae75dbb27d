"""The spec-file sensor with ComfyUI workflows beside a spec: a missing one is rejected naming the field,
the run that plans the video stores them (read from the spec folder, like reference images), and an
edited workflow under an unchanged spec is a change."""

from __future__ import annotations

import json
from pathlib import Path

from vidgen_tests.backends.test_comfyui import spec_folder
from vidgen_tests.defs.test_sensor_references import plan_requested
from vidgen_tests.defs.test_sensors import requested, spec_settings, tick
from vidgen_tests.fakes.comfyui_server import FakeComfyUI


def test_workflows_beside_a_spec_are_read_by_the_sensor_stored_by_the_run_and_an_edit_is_a_change(
    tmp_path, settings, instance
):
    server = FakeComfyUI().start()
    try:
        settings = spec_settings(tmp_path, settings)
        specs = Path(settings.spec_dir)
        spec_folder(specs, [server.url])
        (specs / "music.json").unlink()
        video = (specs / "i2v_wan22_14b.json").read_bytes()
        (specs / "i2v_wan22_14b.json").unlink()

        first = tick("spec_files", instance, settings)
        assert requested(first) == []
        record = (settings.data_dir / "rejected" / "loft-tour.yaml.error.txt").read_text()
        assert "comfyui.workflows.video.file: no file 'i2v_wan22_14b.json' in the spec's folder" in record

        (specs / "i2v_wan22_14b.json").write_bytes(video)
        second = tick("spec_files", instance, settings, first.cursor)
        assert requested(second) == [("render_video", "loft-tour")]
        stored = settings.data_dir / "videos" / "loft-tour" / "comfyui" / "video.json"
        assert not stored.exists()  # the tick reads; the run stores
        plan_requested(second, settings, instance)
        assert stored.read_bytes() == video
        assert requested(tick("spec_files", instance, settings, second.cursor)) == []

        edited = json.loads(video)
        edited["57"]["inputs"]["steps"] = 30
        (specs / "i2v_wan22_14b.json").write_text(json.dumps(edited))
        third = tick("spec_files", instance, settings, second.cursor)
        assert requested(third) == [("render_video", "loft-tour")]
        plan_requested(third, settings, instance)
        assert json.loads(stored.read_text())["57"]["inputs"]["steps"] == 30
    finally:
        server.stop()
