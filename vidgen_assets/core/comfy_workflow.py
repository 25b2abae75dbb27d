"""ComfyUI workflows as data: recognise the API format, check a spec's bindings against a workflow, write
vidgen's values into it, read its native clip, and what a render costs in GPU time. Pure.

A workflow in API format ("Export (API)" in ComfyUI) is a JSON object of nodes by id, each
`{"class_type": ..., "inputs": {name: value or [node_id, output_index]}}`. A binding is
`NODE_ID.INPUT_NAME`. ComfyUI ignores an input a node does not declare, so a binding to a misspelt
input would be silently dropped by the server: vidgen's own check, against the inputs the node has in
the exported file, is the only guard. (An export lists every input a node has: its widgets' values and
its links.) A UI-format file (what "Save" writes: `nodes` and `links` lists) is recognised and refused
with the way to export the API format.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from vidgen_assets.core.cost import FREE, Estimate, Price, StageModel, estimate
from vidgen_assets.core.plan import Plan
from vidgen_assets.core.spec import (
    FALLBACK_MUSIC,
    FALLBACK_VOICE,
    REQUIRED_BINDINGS,
    WORKFLOW_STAGES,
    FieldError,
    Spec,
    WorkflowBinding,
)

Workflow = dict[str, dict[str, Any]]
"""Nodes by id, in API format."""
BOUND_FIELDS = ("prompt", "seed", "width", "height", "frames", "fps", "start_image", "end_image", "duration")
"""The fields of a binding that name `NODE_ID.INPUT_NAME` (`fps` and `frames` are also read)."""
WRITTEN_FIELDS = tuple(f for f in BOUND_FIELDS if f != "fps")
FPS_INPUTS = ("fps", "frame_rate")
"""Where a video workflow's frame rate is found when `fps` is not bound: on its output node (a
`SaveAnimatedWEBP`'s `fps`, VideoHelperSuite's `frame_rate`) or the node feeding it (a `CreateVideo`)."""
LATENT_FRAME_STEP = 4
"""Wan-family (and most video) latents hold 4n+1 frames: vidgen asks for such counts."""
SIZE_MULTIPLE = 16
"""Sizes asked of a workflow are floored to this (latents are 8x smaller, and Wan's patches 2 latents wide)."""
MODEL_SUFFIXES = (".safetensors", ".gguf", ".ckpt", ".pt", ".pth", ".bin", ".sft")


class WorkflowError(ValueError):
    """A workflow file that is not one vidgen can drive (the message says what to do)."""


def parse_workflow(data: Any) -> Workflow:
    """The nodes of an API-format workflow; `WorkflowError` for a UI-format export or anything else."""
    if isinstance(data, dict) and isinstance(data.get("nodes"), list) and "links" in data:
        raise WorkflowError(
            'is a UI-format workflow (what "Save" writes); in ComfyUI use "Export (API)" (Workflow menu, '
            "or Save (API Format) with the dev mode options on) and bind that file"
        )
    if isinstance(data, dict) and isinstance(data.get("prompt"), dict) and "class_type" not in data:
        data = data["prompt"]  # a saved `POST /prompt` body
    if not isinstance(data, dict) or not data:
        raise WorkflowError('is not an API-format workflow (a JSON object of nodes by id); use "Export (API)"')
    for node_id, node in data.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str):
            raise WorkflowError(f'node {node_id!r} has no class_type: not an API-format workflow; use "Export (API)"')
        if not isinstance(node.get("inputs", {}), dict):
            raise WorkflowError(f"node {node_id} ({node['class_type']}): its inputs are not an object")
    return {str(k): v for k, v in data.items()}


def split_binding(binding: str) -> tuple[str, str]:
    """`"52.image"` -> `("52", "image")` (node ids may hold dots: the input is after the last one)."""
    node, _, name = binding.rpartition(".")
    return node, name


def binding_errors(stage: str, binding: WorkflowBinding, workflow: Workflow) -> list[FieldError]:
    """Each bound field naming a node the workflow lacks, or an input that node does not have, and an
    output node that is not in it: `comfyui.workflows.video.start_image: node 52 has no input 'image'`."""
    where = f"comfyui.workflows.{stage}"
    errors = []
    if binding.output not in workflow:
        errors.append(FieldError(f"{where}.output", f"the workflow has no node {binding.output!r}; its nodes: "
                                 f"{_nodes(workflow)}"))  # fmt: skip
    for name in BOUND_FIELDS:
        value = getattr(binding, name)
        if value is None or not isinstance(value, str):  # `fps` may be the rate itself
            continue
        node_id, input_name = split_binding(value)
        node = workflow.get(node_id)
        if node is None:
            errors.append(FieldError(f"{where}.{name}", f"the workflow has no node {node_id!r}; its nodes: "
                                     f"{_nodes(workflow)}"))  # fmt: skip
            continue
        inputs = node.get("inputs", {})
        if input_name not in inputs:
            has = ", ".join(sorted(inputs)) or "none"
            errors.append(FieldError(f"{where}.{name}", f"node {node_id} ({node['class_type']}) has no input "
                                     f"{input_name!r}; its inputs: {has}"))  # fmt: skip
            continue
        current = inputs[input_name]
        if name in ("frames", "fps") and not _number(current):
            errors.append(FieldError(f"{where}.{name}", f"{value} is {current!r}, not a number: vidgen reads the "
                                     f"workflow's native {'frame count' if name == 'frames' else 'frame rate'} "
                                     "there"))  # fmt: skip
    if not errors and stage in ("video", "bridge") and binding.fps is None and find_fps(workflow, binding) is None:
        inputs = "/".join(FPS_INPUTS)
        errors.append(FieldError(f"{where}.fps", f"cannot tell the frame rate the workflow writes (no {inputs} input "
                                 f"on node {binding.output} or the nodes feeding it): bind it, e.g. "
                                 "'fps: \"60.fps\"' for a CreateVideo"))  # fmt: skip
    return errors


def _nodes(workflow: Workflow) -> str:
    shown = [f"{k} ({v['class_type']})" for k, v in list(workflow.items())[:40]]
    return ", ".join(shown) + (", ..." if len(workflow) > 40 else "")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def find_fps(workflow: Workflow, binding: WorkflowBinding) -> str | int | None:
    """The `NODE_ID.INPUT_NAME` holding the frame rate (or the rate, when the spec gives it): `fps` as
    given, else an `fps`/`frame_rate` number on the output node or on a node linked into it."""
    if binding.fps is not None:
        return binding.fps
    output = workflow.get(binding.output)
    if output is None:
        return None
    candidates = [binding.output] + [
        str(value[0]) for value in output.get("inputs", {}).values() if isinstance(value, list) and len(value) == 2
    ]
    for node_id in candidates:
        inputs = workflow.get(node_id, {}).get("inputs", {})
        for name in FPS_INPUTS:
            if _number(inputs.get(name)):
                return f"{node_id}.{name}"
    return None


def read_input(workflow: Workflow, binding: str) -> Any:
    node_id, name = split_binding(binding)
    return workflow[node_id]["inputs"][name]


@dataclass(frozen=True)
class NativeClip:
    """What a video workflow makes as exported: `frames` frames at `fps`."""

    frames: int
    fps: Fraction

    @property
    def seconds(self) -> float:
        """The clip's usable length: its frames after the first (which is the start image)."""
        return float((self.frames - 1) / self.fps) if self.frames > 1 else float(1 / self.fps)


def native_clip(workflow: Workflow, binding: WorkflowBinding) -> NativeClip:
    """The clip a video workflow makes as exported (its `frames` input's value, the fps it writes)."""
    if binding.frames is None:
        raise WorkflowError("binds no frames input")
    where = find_fps(workflow, binding)
    if where is None:
        raise WorkflowError("has no frame rate vidgen can read (bind fps)")
    frames = int(read_input(workflow, binding.frames))
    rate = where if isinstance(where, int) else read_input(workflow, where)
    fps = Fraction(str(rate)).limit_denominator(1001)
    return NativeClip(frames=frames, fps=fps)


def latent_frames(frames: int) -> int:
    """The least 4n+1 frame count (n >= 1) that holds `frames`."""
    n = max(1, math.ceil((max(frames, 1) - 1) / LATENT_FRAME_STEP))
    return n * LATENT_FRAME_STEP + 1


def frames_to_ask(plan_frames: int, plan_fps: int, native_fps: Fraction) -> int:
    """The frames to ask a video workflow for so that its clip, at its own fps, lasts at least
    `plan_frames` frames of the plan (plus its first frame, the start image): a 4n+1 count."""
    needed = math.ceil(Fraction(plan_frames) * native_fps / plan_fps)
    return latent_frames(needed + 1)


def size_to_ask(width: int, height: int) -> tuple[int, int]:
    """The plan's size floored to what a latent can hold (a multiple of 16, at least 16)."""
    return max(SIZE_MULTIPLE, width // SIZE_MULTIPLE * SIZE_MULTIPLE), max(
        SIZE_MULTIPLE, height // SIZE_MULTIPLE * SIZE_MULTIPLE
    )


def bind(workflow: Workflow, binding: WorkflowBinding, values: Mapping[str, Any]) -> Workflow:
    """A copy of `workflow` with each value of `values` (by binding field: prompt, seed, ...) written to
    the input its binding names. A field the binding does not name is skipped."""
    out = copy.deepcopy(workflow)
    for name, value in values.items():
        target = getattr(binding, name, None) if name in WRITTEN_FIELDS else None
        if target is None:
            continue
        node_id, input_name = split_binding(target)
        out[node_id]["inputs"][input_name] = value
    return out


def model_files(workflow: Workflow) -> list[str]:
    """The model files a workflow loads (loader inputs naming a checkpoint, UNet, VAE, text encoder...):
    what a user installs on the server, sorted."""
    found = {
        value
        for node in workflow.values()
        for value in node.get("inputs", {}).values()
        if isinstance(value, str) and value.lower().endswith(MODEL_SUFFIXES)
    }
    return sorted(found)


def binding_map(binding: WorkflowBinding) -> dict[str, str]:
    """The binding's targets by field (what a cache key and an identity include)."""
    return {name: str(getattr(binding, name)) for name in ("output", *BOUND_FIELDS) if getattr(binding, name)}


# -- notes and cost ----------------------------------------------------------------------------------


def stage_price(spec: Spec, stage: str) -> tuple[str, Price, str | None]:
    """(model name, price of one call, a note) for a workflow stage: `price_per_second` x its stated
    `seconds` per run (a per-run price), free without a price; a note when the time is not stated."""
    assert spec.comfyui is not None
    binding: WorkflowBinding | None = getattr(spec.comfyui.workflows, stage)
    assert binding is not None
    rate = Decimal(str(spec.comfyui.price_per_second))
    name = f"comfyui:{stage} ({binding.file})"
    if not rate:
        return name, Price(Decimal(0), "run", "comfyui: your own GPUs (price_per_second 0)", ""), None
    if binding.seconds is None:
        note = (f"comfyui.workflows.{stage}.seconds is not stated: its runs are not in the estimate (they are "
                "billed at price_per_second for the GPU time measured)")  # fmt: skip
        return name, Price(Decimal(0), "run", "comfyui: GPU time not stated", ""), note
    seconds = Decimal(str(binding.seconds))
    source = f"comfyui.price_per_second {rate} x {float(seconds):g} s of GPU time per run"
    return name, Price(rate * seconds, "run", source, f"comfyui.workflows.{stage}.seconds"), None


def comfy_estimate(plan: Plan) -> Estimate:
    """What rendering `plan` with `backend: comfyui` costs: per call, `price_per_second` times the
    workflow's stated GPU seconds; the local music bed and voice are free. The render bills what each
    call measured."""
    spec = plan.spec
    assert spec.comfyui is not None
    flows = spec.comfyui.workflows
    models: dict[str, StageModel] = {}
    notes: list[str] = []
    for stage, cost_stage in (("image", "storyboard"), ("video", "chunks"), ("bridge", "bridges"),
                              ("music", "music"), ("voice", "voice")):  # fmt: skip
        if getattr(flows, stage) is None:
            fallback = {"music": FALLBACK_MUSIC, "voice": FALLBACK_VOICE}.get(stage)
            if fallback:
                models[cost_stage] = StageModel(fallback, FREE)
            continue
        name, price, note = stage_price(spec, stage)
        models[cost_stage] = StageModel(name, price)
        if note and (stage != "bridge" or plan.bridges):
            notes.append(note)
    return estimate(plan, models, "comfyui", 0, tuple(notes), [Decimal(0)] * len(plan.bridges))


def gpu_cost(price_per_second: float, seconds: float) -> Decimal:
    """What `seconds` of measured GPU time cost at `price_per_second` (exact decimals)."""
    return Decimal(str(price_per_second)) * Decimal(str(round(seconds, 3)))


def stages_used(spec: Spec) -> tuple[str, ...]:
    """The workflow stages a spec binds."""
    if spec.comfyui is None:
        return ()
    return tuple(s for s in WORKFLOW_STAGES if getattr(spec.comfyui.workflows, s) is not None)


__all__ = [
    "BOUND_FIELDS", "REQUIRED_BINDINGS", "NativeClip", "Workflow", "WorkflowError", "bind", "binding_errors",
    "binding_map", "comfy_estimate", "find_fps", "frames_to_ask", "gpu_cost", "latent_frames",
    "model_files", "native_clip", "parse_workflow", "read_input", "size_to_ask", "split_binding", "stages_used",
]  # fmt: skip
