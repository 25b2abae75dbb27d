"""ComfyUI workflows as data: the API format, bindings checked against a workflow (also over generated
workflows), values bound, the native clip, the frames and sizes asked, the spec's own checks, the cost."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidgen_assets.comfy_workflows import read_local_workflows
from vidgen_assets.core.comfy_workflow import (
    WorkflowError,
    bind,
    binding_errors,
    comfy_estimate,
    frames_to_ask,
    latent_frames,
    model_files,
    native_clip,
    parse_workflow,
    size_to_ask,
)
from vidgen_assets.core.planner import plan_spec
from vidgen_assets.core.spec import SpecError, WorkflowBinding, load_spec, parse_spec

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "comfyui" / "loft-tour.yaml"
I2V = json.loads((REPO / "examples" / "comfyui" / "i2v_wan22_14b.json").read_text())
VIDEO = WorkflowBinding(
    file="i2v.json", prompt="6.text", seed="57.noise_seed", width="50.width", height="50.height",
    frames="50.length", start_image="52.image", output="61",
)  # fmt: skip
BASE = {"id": "c", "prompt": "p", "duration": 10, "backend": "comfyui"}
FLOWS = {
    "image": {"file": "t2i.json", "prompt": "6.text", "output": "9"},
    "video": {"file": "i2v.json", "prompt": "6.text", "start_image": "52.image", "frames": "50.length", "output": "61"},
}


def test_the_example_workflows_are_api_format_and_the_example_spec_binds_them():
    spec = load_spec(EXAMPLE)
    flows = {f.stage: f for f in read_local_workflows(spec, EXAMPLE)}
    assert sorted(flows) == ["bridge", "image", "video"]
    video = flows["video"].native
    assert video is not None and (video.frames, video.fps, video.seconds) == (81, Fraction(16), 5.0)
    bridge = flows["bridge"].native
    assert bridge is not None and (bridge.frames, bridge.fps) == (33, Fraction(16))  # read from its SaveAnimatedWEBP
    # The model files a user installs are named by the workflows themselves.
    assert model_files(flows["video"].nodes) == [
        "umt5_xxl_fp8_e4m3fn_scaled.safetensors", "wan2.2_i2v_high_noise_14B_fp8_scaled.safetensors",
        "wan2.2_i2v_low_noise_14B_fp8_scaled.safetensors", "wan_2.1_vae.safetensors",
    ]  # fmt: skip
    assert model_files(flows["image"].nodes) == ["flux1-schnell-fp8.safetensors"]
    assert "clip_vision_h.safetensors" in model_files(flows["bridge"].nodes)


def test_a_ui_format_export_is_recognised_and_the_message_says_export_api():
    with pytest.raises(WorkflowError, match=r"Export \(API\)"):
        parse_workflow({"last_node_id": 9, "nodes": [{"id": 3, "type": "KSampler"}], "links": []})
    with pytest.raises(WorkflowError, match="not an API-format workflow"):
        parse_workflow([1, 2])
    with pytest.raises(WorkflowError, match="node '3' has no class_type"):
        parse_workflow({"3": {"inputs": {}}})
    assert parse_workflow({"prompt": I2V}) == I2V  # a saved POST /prompt body


def test_a_binding_to_a_missing_node_or_input_is_a_field_error_naming_both():
    bad = VIDEO.model_copy(update={"start_image": "52.imag", "seed": "99.seed", "output": "70"})
    found = {e.path: e.message for e in binding_errors("video", bad, I2V)}
    assert found["comfyui.workflows.video.start_image"].startswith("node 52 (LoadImage) has no input 'imag'")
    assert found["comfyui.workflows.video.seed"].startswith("the workflow has no node '99'")
    assert found["comfyui.workflows.video.output"].startswith("the workflow has no node '70'")
    assert binding_errors("video", VIDEO, I2V) == []


def test_frames_and_fps_must_be_numbers_and_an_unreadable_fps_asks_for_the_binding():
    text_frames = VIDEO.model_copy(update={"frames": "6.text"})
    (error,) = binding_errors("video", text_frames, I2V)
    assert error.path == "comfyui.workflows.video.frames" and "not a number" in error.message
    no_fps = {**I2V, "60": {"class_type": "CreateVideo", "inputs": {"images": ["8", 0]}}}
    (error,) = binding_errors("video", VIDEO, no_fps)
    assert error.path == "comfyui.workflows.video.fps" and "bind it" in error.message
    bound = VIDEO.model_copy(update={"fps": "57.cfg"})  # any number input may be named
    assert native_clip(I2V, bound).fps == Fraction(7, 2)
    given = VIDEO.model_copy(update={"fps": 16})  # or the rate itself, for frames saved as images
    assert binding_errors("video", given, no_fps) == [] and native_clip(no_fps, given).fps == 16


def test_bind_writes_each_value_where_its_binding_points_and_nowhere_else():
    sent = bind(I2V, VIDEO, {"prompt": "a door opens", "seed": 7, "frames": 41, "start_image": "up (1).png",
                             "end_image": "ignored.png"})  # fmt: skip
    assert sent["6"]["inputs"]["text"] == "a door opens" and sent["57"]["inputs"]["noise_seed"] == 7
    assert sent["50"]["inputs"]["length"] == 41 and sent["52"]["inputs"]["image"] == "up (1).png"
    assert sent["58"]["inputs"]["noise_seed"] == 0 and I2V["6"]["inputs"]["text"] != "a door opens"  # a copy


@pytest.mark.parametrize(
    ("plan_frames", "plan_fps", "native_fps", "asked"),
    [(120, 24, Fraction(16), 81), (132, 24, Fraction(16), 89), (24, 24, Fraction(16), 17), (1, 24, Fraction(16), 5),
     (150, 30, Fraction(16), 81), (120, 24, Fraction(24), 121)],
)  # fmt: skip
def test_a_video_workflow_is_asked_for_4n_plus_1_frames_that_cover_the_chunk(plan_frames, plan_fps, native_fps, asked):
    assert frames_to_ask(plan_frames, plan_fps, native_fps) == asked
    assert (asked - 1) % 4 == 0 and (asked - 1) / native_fps >= Fraction(plan_frames, plan_fps)


@given(st.integers(min_value=-5, max_value=2000))
def test_latent_frames_is_the_least_4n_plus_1_that_holds_the_frames(frames):
    found = latent_frames(frames)
    assert (found - 1) % 4 == 0 and found >= max(frames, 5) and found - 4 < max(frames, 5)


def test_sizes_asked_are_floored_to_a_multiple_of_16():
    assert size_to_ask(854, 480) == (848, 480) and size_to_ask(480, 854) == (480, 848)
    assert size_to_ask(1024, 576) == (1024, 576) and size_to_ask(10, 10) == (16, 16)


node_ids = st.integers(min_value=1, max_value=99).map(str)
input_names = st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True)


@st.composite
def workflows(draw: Any) -> dict[str, Any]:
    ids = draw(st.lists(node_ids, min_size=1, max_size=6, unique=True))
    return {
        i: {"class_type": draw(st.sampled_from(["KSampler", "LoadImage", "CLIPTextEncode", "SaveImage"])),
            "inputs": {name: draw(st.integers(1, 100)) for name in draw(st.lists(input_names, max_size=4,
                                                                                 unique=True))}}
        for i in ids
    }  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(workflows(), st.data())
def test_binding_validation_accepts_exactly_the_nodes_and_inputs_a_generated_workflow_has(workflow, data):
    targets = [f"{n}.{i}" for n, node in workflow.items() for i in node["inputs"]]
    missing = st.tuples(node_ids, input_names).map(lambda t: f"{t[0]}.{t[1]}")
    pick = st.sampled_from(targets) | missing if targets else missing
    prompt, seed = data.draw(pick), data.draw(pick)
    output = data.draw(st.sampled_from(sorted(workflow)) | node_ids)
    binding = WorkflowBinding(file="w.json", prompt=prompt, seed=seed, output=output)
    errors = {e.path: e.message for e in binding_errors("image", binding, workflow)}
    for name, value in (("prompt", prompt), ("seed", seed)):
        node, _, field = value.partition(".")
        path = f"comfyui.workflows.image.{name}"
        assert (path in errors) == (value not in targets)
        if path in errors:
            assert repr(node) in errors[path] if node not in workflow else repr(field) in errors[path]
    assert ("comfyui.workflows.image.output" in errors) == (output not in workflow)


def spec_errors(fields: dict[str, Any]) -> dict[str, str]:
    try:
        parse_spec({**BASE, **fields}, "s.yaml")
    except SpecError as exc:
        return {e.path: e.message for e in exc.errors}
    return {}


def test_the_spec_alone_needs_a_section_servers_that_parse_and_the_workflows_its_beats_use():
    assert "comfyui" in spec_errors({})
    assert spec_errors({"comfyui": {"workflows": FLOWS}}) == {}
    found = spec_errors({"comfyui": {"servers": ["http://gpu:99999", "http://a:1", "http://a:1/", "http://:8188"],
                                     "workflows": {"image": FLOWS["image"]}}})  # fmt: skip
    assert "does not parse" in found["comfyui.servers[0]"] and "twice" in found["comfyui.servers[2]"]
    assert "with a host" in found["comfyui.servers[3]"] and "comfyui.servers[1]" not in found
    assert found["comfyui.workflows.video"].startswith("required")
    beats = [{"name": "a", "duration": 5, "prompt": "x", "transition": "bridge"}, {"name": "b", "duration": 5,
             "prompt": "y"}]  # fmt: skip
    found = spec_errors({"beats": beats, "comfyui": {"workflows": FLOWS}})
    assert set(found) == {"comfyui.workflows.bridge", "beats[0].transition"}
    no_start = {**FLOWS, "video": {k: v for k, v in FLOWS["video"].items() if k != "start_image"}}
    assert "comfyui.workflows.video.start_image" in spec_errors({"comfyui": {"workflows": no_start}})
    priced = {"budget_usd": 1, "comfyui": {"workflows": FLOWS, "price_per_second": 0.001}}
    assert set(spec_errors(priced)) == {"comfyui.workflows.image.seconds", "comfyui.workflows.video.seconds"}


def test_the_estimate_is_the_stated_gpu_seconds_at_the_price_and_the_local_bed_is_free():
    flows = {"image": {**FLOWS["image"], "seconds": 5}, "video": {**FLOWS["video"], "seconds": 100}}
    spec = parse_spec({**BASE, "comfyui": {"workflows": flows, "price_per_second": 0.0005}})
    plan = plan_spec(spec, 5.0)
    found = comfy_estimate(plan)
    assert found.by_stage() == {"storyboard": Decimal("0.0050"), "chunks": Decimal("0.1000"), "music": Decimal(0)}
    assert found.total == Decimal("0.105")
    assert [line.model for line in found.lines][-1] == "animatic-music-v1"
    assert any("animatic's" in w for w in plan.warnings)  # the plan says the bed is made locally
    free = comfy_estimate(plan_spec(parse_spec({**BASE, "comfyui": {"workflows": flows}}), 5.0))
    assert free.total == 0
