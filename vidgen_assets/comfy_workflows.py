"""ComfyUI workflow files: read them beside the spec, refuse bad ones with field errors, store them with
the video. The same path as reference images (`references.py`): a spec's `comfyui.workflows.<job>.file`
is relative to the spec file (a local folder, or the spec's S3 prefix for the spec-file sensor); it is
read and checked when the video is registered (`vidgen validate` / `render`, the sensor, the launchpad),
copied into the store as `videos/<id>/comfyui/<job>.json` with a manifest, and a render reads it from
there only. Every cache key of a call includes the file's bytes (their sha256) and the values bound.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vidgen_assets.core.comfy_workflow import NativeClip, Workflow, WorkflowError, binding_errors, native_clip
from vidgen_assets.core.comfy_workflow import parse_workflow as parse_nodes
from vidgen_assets.core.fingerprint import digest_bytes
from vidgen_assets.core.spec import WORKFLOW_STAGES, FieldError, Spec, SpecError, WorkflowBinding
from vidgen_assets.references import Reader, local_reader, read_beside
from vidgen_assets.storage import layout
from vidgen_assets.storage.store import ArtifactStore

WORKFLOWS_DIR = "comfyui/"
MANIFEST = "comfyui/workflows.json"


@dataclass(frozen=True)
class LoadedWorkflow:
    """A workflow file read and checked against its binding: its bytes, their sha256 and its nodes."""

    stage: str
    """The job: image, video, bridge, music or voice."""
    file: str
    """As the spec names it."""
    data: bytes
    sha256: str
    nodes: Workflow
    binding: WorkflowBinding

    @property
    def native(self) -> NativeClip | None:
        """A video or bridge workflow's clip as exported (None for the others)."""
        return native_clip(self.nodes, self.binding) if self.stage in ("video", "bridge") else None


def workflow_key(video_id: str, stage: str) -> str:
    return layout.video_key(video_id, f"{WORKFLOWS_DIR}{stage}.json")


def bindings(spec: Spec) -> list[tuple[str, WorkflowBinding]]:
    """The spec's workflows by job, in job order (none without a `comfyui` section)."""
    if spec.comfyui is None:
        return []
    flows = spec.comfyui.workflows
    return [(stage, b) for stage in WORKFLOW_STAGES if (b := getattr(flows, stage)) is not None]


def check_workflow(stage: str, binding: WorkflowBinding, data: bytes) -> tuple[Workflow | None, list[FieldError]]:
    """The nodes of a workflow file's bytes, or the field errors that say why it cannot be used."""
    field = f"comfyui.workflows.{stage}.file"
    try:
        parsed = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None, [FieldError(field, f"{binding.file!r} is not UTF-8 text: not a workflow JSON file")]
    except json.JSONDecodeError as exc:
        return None, [FieldError(field, f"{binding.file!r} is not JSON ({exc})")]
    except RecursionError:
        return None, [FieldError(field, f"{binding.file!r} is nested too deeply to be a workflow")]
    try:
        nodes = parse_nodes(parsed)
    except WorkflowError as exc:
        return None, [FieldError(field, f"{binding.file!r} {exc}")]
    problems = binding_errors(stage, binding, nodes)
    return (None, problems) if problems else (nodes, [])


def read_workflows(spec: Spec, source: str, folder: Path | None, read: Reader) -> tuple[LoadedWorkflow, ...]:
    """Every workflow of `spec` read and checked; `SpecError` listing each problem by field."""
    if spec.backend != "comfyui":
        return ()
    loaded = []
    errors: list[FieldError] = []
    for stage, binding in bindings(spec):
        data, problem = read_beside(binding.file, f"comfyui.workflows.{stage}.file", folder, read, "workflow")
        if data is None:
            errors += [problem] if problem else []
            continue
        nodes, problems = check_workflow(stage, binding, data)
        if nodes is None:
            errors += problems
            continue
        loaded.append(LoadedWorkflow(stage, binding.file, data, digest_bytes(data), nodes, binding))
    if errors:
        raise SpecError(source, errors)
    return tuple(loaded)


def read_local_workflows(spec: Spec, spec_path: Path) -> tuple[LoadedWorkflow, ...]:
    """The workflows of a spec file on local disk, relative to its folder."""
    folder = spec_path.absolute().parent
    return read_workflows(spec, str(spec_path), folder, local_reader(folder))


def store_workflows(store: ArtifactStore, video_id: str, loaded: Iterable[LoadedWorkflow]) -> None:
    """Copy the workflows into the video's store (unchanged files are not written again), manifest last."""
    entries = []
    for flow in loaded:
        key = workflow_key(video_id, flow.stage)
        if not store.exists(key) or digest_bytes(store.get_bytes(key)) != flow.sha256:
            store.put_bytes(key, flow.data)
        entries.append({"stage": flow.stage, "file": flow.file, "sha256": flow.sha256})
    manifest = layout.video_key(video_id, MANIFEST)
    if not entries and not store.exists(manifest):
        return
    data = json.dumps(entries, indent=2, sort_keys=True).encode("utf-8")
    if not store.exists(manifest) or store.get_bytes(manifest) != data:
        store.put_bytes(manifest, data)


def stored_workflows(store: ArtifactStore, spec: Spec) -> tuple[LoadedWorkflow, ...]:
    """The workflows of a registered video, as stored; ValueError when they do not match its spec."""
    wanted = bindings(spec) if spec.backend == "comfyui" else []
    if not wanted:
        return ()
    key = layout.video_key(spec.id, MANIFEST)
    if not store.exists(key):
        raise ValueError(
            f"video {spec.id!r} uses ComfyUI workflows but none were registered with it (expected {store.uri(key)}); "
            "register the spec with `vidgen render` or the spec-file sensor"
        )
    entries = {e["stage"]: e for e in json.loads(store.get_bytes(key))}
    out = []
    for stage, binding in wanted:
        entry = entries.get(stage)
        if entry is None or entry.get("file") != binding.file:
            raise ValueError(f"comfyui.workflows.{stage}: {binding.file!r} was not registered with video {spec.id!r}")
        data = store.get_bytes(workflow_key(spec.id, stage))
        if digest_bytes(data) != entry["sha256"]:
            raise ValueError(f"comfyui.workflows.{stage}: the stored copy of {binding.file!r} differs from its record")
        nodes, problems = check_workflow(stage, binding, data)
        if nodes is None:
            raise SpecError(store.uri(key), problems)
        out.append(LoadedWorkflow(stage, binding.file, data, entry["sha256"], nodes, binding))
    return tuple(out)


def describe_workflows(loaded: Iterable[LoadedWorkflow]) -> list[str]:
    """One line per workflow for `vidgen validate`: its file, sha256, native clip and the models it loads."""
    from vidgen_assets.core.comfy_workflow import model_files

    lines = []
    for flow in loaded:
        native = flow.native
        clip = f", native {native.frames} frames at {float(native.fps):g} fps" if native else ""
        models = ", ".join(model_files(flow.nodes)) or "none named"
        lines.append(f"  {flow.stage}: {flow.file} (sha256 {flow.sha256[:12]}{clip}); loads {models}")
    return lines
