"""What rendering a plan costs with its spec's backend and models, before anything is made."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from vidgen_assets.backends.registry import JUDGE_MODEL, REGISTRY
from vidgen_assets.backends.selection import select_for_spec
from vidgen_assets.core.comfy_workflow import comfy_estimate
from vidgen_assets.core.cost import Estimate, Price, StageModel, estimate
from vidgen_assets.core.plan import Plan
from vidgen_assets.core.spec import Spec

ANIMATIC_MODELS = {
    "storyboard": "animatic-card-v1", "chunks": "animatic-motion-v1", "bridges": "animatic-bridge-v1",
    "music": "animatic-music-v1", "voice": "espeak-ng-1.52",
}  # fmt: skip


def uses_llm_planner(spec: Spec) -> bool:
    """Whether planning this spec calls the LLM (beats asked for, and a backend that has one)."""
    return spec.planner == "llm" and spec.beats is None and spec.backend == "replicate"


def estimate_plan(plan: Plan, prices: Mapping[str, Price] | None = None, planner_calls: int | None = None) -> Estimate:
    """What rendering `plan` costs with its spec's backend and models ($0.00 for the animatic)."""
    spec = plan.spec
    if spec.backend == "comfyui" and spec.comfyui is not None:
        return comfy_estimate(plan)
    if spec.backend != "replicate":
        free = {stage: StageModel(model) for stage, model in ANIMATIC_MODELS.items()}
        return estimate(plan, free, backend=spec.backend)
    selection = select_for_spec(spec, {} if prices is None else prices, spec.id)
    bridge_seconds = [Decimal(selection.video.bridge_seconds(b.frames, plan.fps)) for b in plan.bridges]
    planned_by_llm = spec.planner == "llm" and plan.planner != "spec"  # the plan's spec has its beats filled
    calls = int(planned_by_llm) if planner_calls is None else planner_calls
    notes: tuple[str, ...] = ()
    if calls and plan.planner.startswith("library"):
        notes = ("the LLM plans the beats at render time; chunks are counted from the library plan",)
    judge = None
    if spec.qc is not None and spec.qc.judge == "replicate":  # one call per take of a clip (`backends.judge`)
        judged = REGISTRY[JUDGE_MODEL]
        judge = StageModel(judged.id, (prices or {}).get(judged.id, judged.price))
    return estimate(plan, selection.stage_models(), "replicate", calls, notes, bridge_seconds, judge)
