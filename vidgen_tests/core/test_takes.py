"""The decisions about a clip's takes (`core.takes`): seeds, which take is used, what retakes may spend."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vidgen_assets.core.spec import Spec
from vidgen_assets.core.takes import (
    SEED_LIMIT,
    RetakeAllowance,
    best,
    next_take,
    spec_retakes,
    take_seed,
)


@given(st.integers(0, SEED_LIMIT - 1), st.integers(1, 50))
def test_a_retake_is_asked_with_a_seed_no_earlier_attempt_and_no_other_first_take_had(seed: int, attempts: int):
    seeds = [take_seed(seed, k) for k in range(attempts + 1)]
    assert seeds[0] == seed
    assert len(set(seeds)) == len(seeds)
    assert all(0 <= s < SEED_LIMIT for s in seeds)
    # Clips' first seeds are the spec's seed plus a chunk index (< 1000): a retake never lands on one.
    assert not any(0 <= (s - seed) % SEED_LIMIT < 1000 for s in seeds[1:])


def test_attempts_are_counted_from_zero():
    with pytest.raises(ValueError, match="counted from 0"):
        take_seed(1, -1)


def take(number: int, passed: bool, failed: tuple[str, ...] = (), score: float | None = None) -> dict[str, object]:
    return {"take": number, "passed": passed, "failed": list(failed), "score": score, "warnings": []}


def test_the_take_used_passed_then_failed_least_then_scored_highest_then_came_first():
    assert best([take(1, False, ("still",)), take(2, True)])["take"] == 2
    assert best([take(1, False, ("still", "start")), take(2, False, ("black",))])["take"] == 2
    assert best([take(1, True, score=0.7), take(2, True, score=0.9)])["take"] == 2
    assert best([take(1, True), take(2, True)])["take"] == 1  # a later take is no better for being later
    with pytest.raises(ValueError):
        best([])


@given(st.lists(st.integers(1, 40), unique=True))
def test_a_new_take_is_numbered_after_every_stored_one(numbers: list[int]):
    found = next_take([take(n, True) for n in numbers])
    assert found == max(numbers, default=0) + 1


@given(st.decimals(0, 5, places=2), st.lists(st.tuples(st.decimals(0, 1, places=2), st.booleans()), max_size=20))
def test_retakes_never_spend_more_than_the_budget_leaves(left: Decimal, asks: list[tuple[Decimal, bool]]):
    allowance = RetakeAllowance(left)
    for amount, cached in asks:
        if allowance.reserve(amount):
            allowance.settle(amount, Decimal(0) if cached else amount)
    assert allowance.spent <= left
    assert allowance.left == left - allowance.spent


def test_no_budget_is_no_limit_and_a_refused_retake_sets_nothing_aside():
    unlimited = RetakeAllowance(None)
    assert unlimited.reserve(Decimal("1000")) and unlimited.left is None
    tight = RetakeAllowance(Decimal("0.04"))
    assert not tight.reserve(Decimal("0.05"))
    assert (tight.left, tight.spent) == (Decimal("0.04"), Decimal(0))


def test_retakes_default_to_one_for_models_none_for_the_animatic_and_none_with_qc_off():
    base = {"id": "v", "prompt": "p"}
    assert spec_retakes(Spec.model_validate({**base, "backend": "replicate"})) == 1
    assert spec_retakes(Spec.model_validate(base)) == 0
    assert spec_retakes(Spec.model_validate({**base, "backend": "replicate", "qc": False})) == 0
    assert spec_retakes(Spec.model_validate({**base, "qc": {"retakes": 3}})) == 3
