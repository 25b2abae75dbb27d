"""Takes of a generated clip, the decisions: how many, with which seed, which one is used, what a retake
may cost (Version 3, `qc:`).

A clip (a chunk or a bridge) is made, measured (`core.qc`), and made again with a new seed while it
fails a blocking check (or the judge scores it under `qc.min_score`), up to `qc.retakes` extra takes and
only while the money set aside for retakes lasts (`RetakeAllowance`: what `budget_usd` leaves over the
estimate). Every take is kept; `best` picks the one used. Takes of a clip are numbered from 1 in the
order they were made, across renders (a take made for an earlier version of a beat keeps its number).

Plain Python: `vidgen_assets.takes` stores and loads takes and runs the loop; this module decides.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from vidgen_assets.core.qc import BLOCKING, CheckResult
from vidgen_assets.core.spec import Spec

TAKE_SEED_STRIDE = 1_000_003
"""How far apart the seeds of a clip's attempts are: attempt k (0 = the first take) is asked for with
`seed + k * TAKE_SEED_STRIDE` (a prime, so that a retake's seed is never another clip's first seed: a
clip's first seed is the spec's seed plus its chunk index, which stays far below it)."""
SEED_LIMIT = 2**31
"""Seeds stay under 2^31 (what the models take)."""
JUDGE_CHECK = "judge"
"""The name the judge's verdict is shown under, with the measured checks."""


def take_seed(seed: int, attempt: int) -> int:
    """The seed of a clip's attempt `attempt` (0: the first take, made with `seed` itself)."""
    if attempt < 0:
        raise ValueError(f"attempts are counted from 0, got {attempt}")
    return (seed + attempt * TAKE_SEED_STRIDE) % SEED_LIMIT


def default_retakes(backend: str) -> int:
    """Extra takes when `qc.retakes` is not given: none for the animatic (a failed check there is a bug,
    not bad luck: the same inputs draw the same clip), one for a model backend."""
    return 0 if backend == "animatic" else 1


def spec_retakes(spec: Spec) -> int:
    """The extra takes a spec allows a failing clip: `qc.retakes`, else `default_retakes`; 0 with
    `qc: false`."""
    if spec.qc is None:
        return 0
    return spec.qc.retakes if spec.qc.retakes is not None else default_retakes(spec.backend)


@dataclass(frozen=True)
class Verdict:
    """What a take's checks (and judge) say: whether it `passed`, the blocking checks it failed, the
    warnings it raised, and the judge's score when there is one."""

    passed: bool
    failed: tuple[str, ...]
    warnings: tuple[str, ...]
    score: float | None = None

    def as_record(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failed": list(self.failed),
            "warnings": list(self.warnings),
            "score": self.score,
        }


def verdict(checks: Sequence[CheckResult], score: float | None = None, min_score: float | None = None) -> Verdict:
    """The verdict of a take from its measured `checks` and, with a judge, its `score` against `min_score`
    (a score under it fails the take like a blocking check, named `judge`)."""
    failed: list[str] = [c.name for c in checks if c.blocks]
    warnings: list[str] = [c.name for c in checks if not c.passed and c.severity != BLOCKING]
    if score is not None and min_score is not None and score < min_score:
        failed.append(JUDGE_CHECK)
    return Verdict(not failed, tuple(failed), tuple(warnings), score)


def rank(record: Mapping[str, Any]) -> tuple[int, int, float, int, int]:
    """How good a stored take is, larger is better: passed, fewer blocking failures, a higher judge
    score, fewer warnings, then the earlier take (a later take is no better for being later)."""
    failed = list(record.get("failed") or [])
    score = record.get("score")
    return (
        1 if record.get("passed") else 0,
        -len(failed),
        float(score) if score is not None else 0.0,
        -len(record.get("warnings") or []),
        -int(record["take"]),
    )


def best(records: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The take to use among `records` (stored takes, see `rank`)."""
    if not records:
        raise ValueError("no takes to choose from")
    return max(records, key=rank)


def next_take(records: Sequence[Mapping[str, Any]]) -> int:
    """The number the next new take of a clip gets."""
    return 1 + max((int(r["take"]) for r in records), default=0)


class RetakeAllowance:
    """The money a render may spend on retakes: `budget_usd` minus the estimate of everything else
    (None: no budget, no limit). Shared by the clips made at once (thread-safe): a retake reserves its
    cost before it is asked for, and is refused when the rest would pass the budget."""

    def __init__(self, left: Decimal | None) -> None:
        self._left = left
        self._spent = Decimal(0)
        self._lock = threading.Lock()

    @property
    def left(self) -> Decimal | None:
        with self._lock:
            return self._left

    @property
    def spent(self) -> Decimal:
        """What retakes were charged so far (reserved, then settled at what they cost)."""
        with self._lock:
            return self._spent

    def reserve(self, amount: Decimal) -> bool:
        """Set `amount` aside for one retake; False (nothing set aside) when it does not fit."""
        with self._lock:
            if self._left is not None and amount > self._left:
                return False
            if self._left is not None:
                self._left -= amount
            self._spent += amount
            return True

    def settle(self, reserved: Decimal, paid: Decimal) -> None:
        """A reserved retake cost `paid` (0 when it was answered from the cache or a stored take)."""
        with self._lock:
            if self._left is not None:
                self._left += reserved - paid
            self._spent += paid - reserved


def retake_refusal(clip: str, amount: Decimal, left: Decimal | None, failed: Sequence[str]) -> str:
    """Why a failing clip was not taken again: the budget."""
    return (
        f"{clip}: failed {', '.join(failed)}; a retake (about ${amount:.4f}) would pass budget_usd "
        f"(${left if left is not None else 0:.4f} left for retakes): kept the best take"
    )


def clip_moves(backend: str, camera: str) -> bool:
    """Whether a clip is meant to move (its `still` and `frozen` checks apply): every model's clip is;
    the animatic's static camera holds its storyboard card by design."""
    return not (backend == "animatic" and camera == "static")


@dataclass(frozen=True)
class JudgeScore:
    """The judge's verdict on one take."""

    score: float
    """0..1: how well the take shows its prompt (and references); 0.0 when the reply did not parse."""
    reason: str
    """The model's one-sentence reason, or why its reply could not be read."""
    cost_usd: float
    """What this call cost: 0.0 when answered from the cache."""
    cached: bool
    """Answered from the generation cache (no HTTP call)."""
    model: str = "openai/gpt-4o-mini"
    readable: bool = True
    """False when the reply held no usable score (then `score` is 0.0)."""
    frames: tuple[int, ...] = ()
    """The frame numbers sampled from the take."""

    def passes(self, min_score: float) -> bool:
        """At or above `qc.min_score`."""
        return self.readable and self.score >= min_score

    def as_record(self) -> dict[str, Any]:
        """JSON-ready, for a take's record."""
        return {
            "judge": self.model, "score": round(self.score, 4), "reason": self.reason, "readable": self.readable,
            "cost_usd": self.cost_usd, "cache": "hit" if self.cached else "miss", "frames": list(self.frames),
        }  # fmt: skip
