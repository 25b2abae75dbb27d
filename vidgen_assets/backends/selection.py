"""A spec's models: the registry defaults with its `models:` overrides and the defaults its features need,
checked against what the spec asks of them, and the chunk length they lay the plan out with."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from vidgen_assets.backends.registry import (
    BRIDGE_DEFAULTS,
    DEFAULT_REFERENCE_IMAGE,
    DEFAULTS,
    REGISTRY,
    STAGE_KINDS,
    ReplicateModel,
)
from vidgen_assets.core.cost import REFERENCE_STORYBOARD, Price, StageModel
from vidgen_assets.core.spec import BRIDGE, FieldError, Spec, SpecError

if TYPE_CHECKING:
    from vidgen_assets.comfy_workflows import LoadedWorkflow


class UnknownModel(ValueError):
    """A spec names a model the registry does not know, or a model of the wrong kind for its stage."""


def uses_bridges(spec: Spec) -> bool:
    return any(beat.transition == BRIDGE for beat in (spec.beats or ())[:-1])


def spec_models(spec: Spec) -> dict[str, str]:
    """A spec's `models:` with the defaults its features need (an end-frame video model for bridges)."""
    extra = BRIDGE_DEFAULTS if uses_bridges(spec) else {}
    return {**extra, **spec.models}


def model_field_errors(spec: Spec, selection: ModelSelection) -> list[FieldError]:
    """A bridge asked of a video model without an end-frame input: one error on the model, one per bridge."""
    video = selection.video
    bridged = [i for i, beat in enumerate((spec.beats or ())[:-1]) if beat.transition == BRIDGE]
    if spec.backend != "replicate" or not bridged or video.end_image_key:
        return []
    able = ", ".join(sorted(m.id for m in REGISTRY.values() if m.kind == "video" and m.end_image_key))
    return [
        FieldError("models.video", f"{video.id} has no end-frame input, so it cannot make a bridge; models that "
                   f"can: {able}"),
        *(FieldError(f"beats[{i}].transition", f"bridge needs a video model with an end-frame input; "
                     f"{video.id} has none (choose one in models.video, or another transition)") for i in bridged),
    ]  # fmt: skip


def select_for_spec(spec: Spec, prices: Mapping[str, Price] | None = None, source: str = "<spec>") -> ModelSelection:
    """The models a replicate render of `spec` calls; a SpecError when the spec asks what they cannot do."""
    selection = select_models(spec_models(spec), prices)
    problems = model_field_errors(spec, selection)
    if problems:
        raise SpecError(source, problems)
    return selection


@dataclass(frozen=True)
class ModelSelection:
    """The model of each stage for one spec."""

    image: ReplicateModel
    video: ReplicateModel
    music: ReplicateModel
    planner: ReplicateModel
    voice: ReplicateModel
    reference_image: ReplicateModel | None = None
    """The image model of beats that use references: `image` when it takes input images, else the default
    reference-capable model."""

    def stage_models(self) -> dict[str, StageModel]:
        """For `core.cost.estimate`: each cost stage's model, price and billed seconds per call."""
        refs = self.reference_image or self.image
        return {
            "planner": StageModel(self.planner.id, self.planner.price),
            "storyboard": StageModel(self.image.id, self.image.price),
            REFERENCE_STORYBOARD: StageModel(refs.id, refs.price),
            "chunks": StageModel(self.video.id, self.video.price, self.video.billed_seconds),
            "bridges": StageModel(self.video.id, self.video.price),
            "music": StageModel(self.music.id, self.music.price),
            "voice": StageModel(self.voice.id, self.voice.price),
        }


def select_models(overrides: Mapping[str, str], prices: Mapping[str, Price] | None = None) -> ModelSelection:
    """The registry defaults with a spec's `models:` overrides; prices from `prices` when given."""
    unknown = sorted(set(overrides) - set(STAGE_KINDS))
    if unknown:
        raise UnknownModel(f"models: unknown stage(s) {', '.join(unknown)}; allowed: {', '.join(STAGE_KINDS)}")
    chosen: dict[str, ReplicateModel] = {}
    for stage, kind in STAGE_KINDS.items():
        model_id = overrides.get(stage, DEFAULTS[stage])
        model = REGISTRY.get(model_id)
        fits = sorted(m.id for m in REGISTRY.values() if m.kind == kind)
        if model is None or model.kind != kind:
            raise UnknownModel(f"models.{stage}: {model_id!r} is not a known {kind} model; known: {', '.join(fits)}")
        if prices and model.id in prices:
            model = replace(model, price=prices[model.id])
        chosen[stage] = model
    refs = chosen["image"] if chosen["image"].input_images_key else REGISTRY[DEFAULT_REFERENCE_IMAGE]
    if prices and refs.id in prices:
        refs = replace(refs, price=prices[refs.id])
    return ModelSelection(**chosen, reference_image=refs)


def chunk_seconds_for(spec: Spec, default: float, workflows: Sequence[LoadedWorkflow] = ()) -> float:
    """The chunk length the planner lays a spec out with: its video model's clip for `replicate`, its
    video workflow's clip (of `workflows`, read and checked) for `comfyui`."""
    if spec.backend == "comfyui":
        video = next((w for w in workflows if w.stage == "video"), None)
        native = video.native if video is not None else None
        return native.seconds if native is not None else default
    if spec.backend != "replicate":
        return default
    clip = select_for_spec(spec, {}, spec.id).video.clip_seconds
    return clip if clip else default
