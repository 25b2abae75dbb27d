"""What a render costs: prices, the cost of one call, and the estimate for a whole plan. Pure.

Money is `decimal.Decimal` (never float) so an estimate is exact to the cent and beyond: the estimate of
a plan and the sum of the costs its calls record are the same numbers when nothing fails, because both
come from `call_cost` with the same inputs. A price is per run (one image, one clip) or per second of
output (a video model billed by the clip's length, a music model by the track's), or per character of
input (a text-to-speech model).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from vidgen_assets.core.plan import Plan

PriceUnit = Literal["run", "second", "character"]
STAGES = ("planner", "storyboard", "chunks", "bridges", "music", "voice")
"""Cost stages, in render order (all but `planner` are the final video's `cost_by_stage`)."""
KIND_OF_STAGE = {
    "planner": "llm", "storyboard": "image", "chunks": "video", "bridges": "video", "music": "music", "voice": "tts",
}  # fmt: skip
REFERENCE_STORYBOARD = "storyboard+references"
"""Not a stage: the storyboard model of beats that use references (their calls are `storyboard` calls)."""
CENT = Decimal("0.01")
MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class Price:
    """`usd` per run, or per second of output; where the number comes from and when it was read."""

    usd: Decimal
    unit: PriceUnit = "run"
    source: str = ""
    date: str = ""

    def __post_init__(self) -> None:
        if self.usd < 0:
            raise ValueError(f"a price cannot be negative, got {self.usd}")
        if self.unit not in ("run", "second", "character"):
            raise ValueError(f"price unit must be 'run', 'second' or 'character', got {self.unit!r}")


FREE = Price(Decimal(0), "run", "local backend", "")


def call_cost(price: Price, output_seconds: Decimal | float | int = 0) -> Decimal:
    """The cost of one call that made `output_seconds` of output, or was sent that many characters for a
    per-character price (ignored for per-run prices)."""
    if price.unit == "run":
        return price.usd
    return price.usd * Decimal(str(output_seconds))


def speech_characters(text: str) -> int:
    """The characters a text-to-speech call is billed for: the line as sent."""
    return len(text)


def music_seconds(seconds: float) -> int:
    """The whole seconds asked of a music model for a bed of `seconds` (it is then cut to length)."""
    return max(1, math.ceil(round(seconds, 6)))


def usd(amount: Decimal) -> str:
    """`$1.23`; amounts under a cent that are not zero keep their digits (`$0.003`)."""
    if amount == 0 or amount == amount.quantize(CENT):
        return f"${amount.quantize(CENT)}"
    return f"${amount.quantize(MICRO).normalize():f}"


@dataclass(frozen=True)
class StageModel:
    """The model a stage calls and what one call of it costs."""

    model: str
    price: Price = FREE
    seconds_per_call: Decimal = Decimal(0)
    """Output seconds each call is billed for (per-second prices): a video model's native clip length."""


@dataclass(frozen=True)
class EstimateLine:
    stage: str
    model: str
    calls: int
    unit_usd: Decimal
    """The cost of one call."""
    price: Price
    amount: Decimal | None = None
    """The line's total when its calls cost different amounts (speech lines billed per character)."""

    @property
    def usd(self) -> Decimal:
        return self.amount if self.amount is not None else self.unit_usd * self.calls


@dataclass(frozen=True)
class Estimate:
    """What a plan will cost: one line per stage and model, and the total."""

    video_id: str
    backend: str
    lines: tuple[EstimateLine, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def total(self) -> Decimal:
        return sum((line.usd for line in self.lines), Decimal(0))

    @property
    def calls(self) -> int:
        return sum(line.calls for line in self.lines)

    def by_stage(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for line in self.lines:
            out[line.stage] = out.get(line.stage, Decimal(0)) + line.usd
        return out

    def table(self) -> str:
        """The estimate as a person reads it."""
        rows = [f"{'stage':<11} {'model':<40} {'calls':>5} {'each':>12} {'cost':>12}"]
        for line in self.lines:
            rows.append(
                f"{line.stage:<11} {line.model:<40} {line.calls:>5} {usd(line.unit_usd):>12} {usd(line.usd):>12}"
            )
        rows.append(f"{'total':<11} {'':<40} {self.calls:>5} {'':>12} {usd(self.total):>12}")
        sources = {
            line.model: f"{line.model}: {line.price.usd} per {line.price.unit} ({line.price.source}, {line.price.date})"
            for line in self.lines
            if line.price.source and line.price.usd
        }
        if sources:
            rows += ["", "prices:", *(f"  {s}" for s in sources.values())]
        rows += [f"note: {n}" for n in self.notes]
        return "\n".join(rows)


def estimate(
    plan: Plan,
    models: Mapping[str, StageModel],
    backend: str = "replicate",
    planner_calls: int = 0,
    notes: tuple[str, ...] = (),
    bridge_seconds: Sequence[Decimal] | None = None,
    judge: StageModel | None = None,
) -> Estimate:
    """The calls a render of `plan` makes per stage and what they cost.

    `models` maps a stage (`planner`, `storyboard`, `chunks`, `bridges`, `music`, `voice`)
    to its model; a stage
    without a model is free. One image per beat, one clip per chunk, one clip per bridge, one music call
    when the spec has music, one speech call per `say` line (unless `voice: false`) and `planner_calls`
    LLM calls. `bridge_seconds` are the output seconds each
    bridge is billed for (the model's shortest clip that covers it; the bridge is retimed to its frames,
    so nothing else is paid and thrown away); bridges of the same billed length share a line. With a
    `REFERENCE_STORYBOARD` model, the images of beats that use references are counted at that model's
    price. With a `judge` (`qc.judge: replicate`), one judge call per take of each generated clip (chunk
    or bridge) without retakes, in stage `judge` (see `retake_allowance` for what retakes can add).
    """
    lines_said = plan.voice_lines if plan.spec.voice is not None else ()
    calls = {
        "planner": planner_calls,
        "storyboard": len(plan.beats),
        "chunks": len(plan.chunks),
        "music": 1 if plan.spec.music is not None and plan.spec.music.file is None else 0,  # a user's file is free
        "voice": len(lines_said),
    }
    seconds = {"music": Decimal(music_seconds(plan.total_frames / plan.fps))}
    bridges = plan.bridges
    calls["bridges"] = len(bridges)
    billed = list(bridge_seconds) if bridge_seconds is not None else [Decimal(0)] * len(bridges)
    if len(billed) != len(bridges):
        raise ValueError(f"{len(bridges)} bridge(s) need as many billed lengths, got {len(billed)}")
    lines = []
    for stage in STAGES:
        if not calls[stage]:
            continue
        used = models.get(stage, StageModel(model=f"{backend}-{stage}"))
        if stage == "bridges":
            for length in sorted(set(billed)):
                count = billed.count(length)
                lines.append(EstimateLine(stage, used.model, count, call_cost(used.price, length), used.price))
            continue
        per_call = seconds.get(stage, used.seconds_per_call)
        if stage == "voice" and used.price.unit == "character":
            costs = [call_cost(used.price, speech_characters(line.text)) for line in lines_said]
            total = sum(costs, Decimal(0))  # each line is billed for its own characters; "each" is the mean
            lines.append(EstimateLine(stage, used.model, calls[stage], (total / len(costs)).quantize(MICRO),
                                      used.price, total))  # fmt: skip
            continue
        count = calls[stage]
        refs = models.get(REFERENCE_STORYBOARD) if stage == "storyboard" else None
        with_refs = sum(1 for beat in plan.beats if beat.uses) if refs is not None else 0
        if refs is not None and with_refs:
            count -= with_refs
            lines.append(EstimateLine(stage, refs.model, with_refs, call_cost(refs.price, per_call), refs.price))
        if count:
            lines.append(EstimateLine(stage, used.model, count, call_cost(used.price, per_call), used.price))
    if judge is not None and judge_calls(plan):
        lines.append(EstimateLine(JUDGE_STAGE, judge.model, judge_calls(plan), call_cost(judge.price), judge.price))
    if bridges and bridge_seconds is not None and any(b for b in billed):
        made = sum(billed, Decimal(0))
        used_s = Decimal(sum(b.frames for b in bridges)) / Decimal(plan.fps)
        notes = (
            *notes,
            f"bridges: {len(bridges)} clip(s) billed for {made:g} s in all, retimed to the "
            f"{used_s.normalize():f} s they fill (the model's shortest clip that covers each one)",
        )
    return Estimate(video_id=plan.video_id, backend=backend, lines=tuple(lines), notes=notes)


JUDGE_STAGE = "judge"
"""The cost stage of the judge's calls (`qc.judge: replicate`): one per take of a generated clip."""
RETAKE_STAGES = ("chunks", "bridges", JUDGE_STAGE)
"""What a retake makes again: the clip (a chunk or a bridge), and its judging when there is a judge."""


def judge_calls(plan: Plan) -> int:
    """The judge's calls without retakes: one per generated clip (every chunk and bridge)."""
    return len(plan.chunks) + len(plan.bridges)


def retake_allowance(lines: Sequence[EstimateLine], retakes: int) -> Decimal:
    """The most `retakes` (extra takes per clip) can add to an estimate made of `lines` (its `lines`):
    every generated clip (stages `chunks` and `bridges`) made `retakes` more times, each new take judged
    again (stage `judge`). It bounds retakes in which each clip is made at most 1 + `retakes` times (a
    continuous chunk made again because the chunk before it changed counts as one of its takes); the
    budget stays hard whatever this says (a retake is made only while the spend stays within `budget_usd`)."""
    if retakes < 0:
        raise ValueError(f"retakes must be >= 0, got {retakes}")
    return retakes * sum((line.usd for line in lines if line.stage in RETAKE_STAGES), Decimal(0))


def budget_refusal(budget_usd: float | None, found: Estimate) -> str | None:
    """The refusal when a spec's `budget_usd` is below the estimate, else None."""
    if budget_usd is None:
        return None
    budget = Decimal(str(budget_usd))
    if found.total <= budget:
        return None
    by_stage = ", ".join(f"{stage} {usd(amount)}" for stage, amount in found.by_stage().items())
    return (
        f"video {found.video_id!r}: the estimated cost {usd(found.total)} ({found.calls} call(s): {by_stage}) "
        f"is above budget_usd {usd(budget)}; nothing was generated. Raise budget_usd, shorten the video or "
        "choose cheaper models (see `vidgen estimate`)."
    )


def as_float(amount: Decimal) -> float:
    """A cost for a JSON record (rounded to the micro-dollar, which every price here is exact at)."""
    return float(amount.quantize(MICRO))
