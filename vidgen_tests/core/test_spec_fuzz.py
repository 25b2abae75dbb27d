"""Bad input at scale: generated specs, valid and invalid, YAML and JSON, through validation and
planning. Nothing but field errors comes out; every error names its field; every plan keeps its
invariants."""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vidgen_assets.core.plan import Plan
from vidgen_assets.core.planner import plan_spec
from vidgen_assets.core.spec import SpecError, read_spec_text
from vidgen_tests.core.spec_strategies import serialise, specs

EXAMPLES = 1000


def check_errors(error: SpecError, data: Any) -> None:
    """Each error names a field of the input (or the file / the spec as a whole) and says what is wrong."""
    assert error.errors, "a SpecError lists its problems"
    assert str(error).startswith("invalid spec fuzz.")
    keys = {"id", "prompt"}
    if isinstance(data, dict):
        keys |= {k if isinstance(k, str) else f"[{k}]" for k in data}
    for problem in error.errors:
        assert problem.message.strip(), problem
        path = problem.path
        named = path in ("(file)", "(spec)") or any(path == k or path.startswith((f"{k}.", f"{k}[")) for k in keys)
        assert named, f"{problem} does not name a field of {sorted(map(str, keys))}"


def check_plan(plan: Plan) -> None:
    spec = plan.spec
    total = round(spec.duration * plan.fps)
    assert plan.total_frames == total
    assert sum(b.frames for b in plan.beats) == total  # frames sum exactly
    assert 1 <= len(plan.beats) <= math.ceil(spec.duration / 5)
    start = 0
    for beat in plan.beats:
        assert beat.start_frame == start and beat.frames > 0
        start = beat.end_frame
        assert beat.chunks, f"beat {beat.index} has no chunk"
        assert all(chunk.frames > 0 for chunk in beat.chunks)  # no empty chunk
        assert sum(chunk.frames for chunk in beat.chunks) == beat.clip_frames
        assert beat.transition_frames >= 0
    assert plan.beats[-1].transition_frames == 0


@pytest.mark.slow
def test_generated_specs_give_field_errors_or_plans_that_keep_the_invariants():
    counts: Counter[str] = Counter()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(case=specs(), chunk_s=st.sampled_from([2.0, 5.0, 6.0]))
    def check(case: tuple[Any, bool], chunk_s: float) -> None:
        data, meant_valid = case
        for form in ("yaml", "json"):  # every generated spec, written both ways
            text = serialise(data, form)
            try:
                spec = read_spec_text(text, f"fuzz.{form}", default_id="fuzz")
            except SpecError as error:  # anything else fails the test
                counts[f"{form} invalid"] += 1
                assert not meant_valid, f"a valid spec was refused: {error}\n{text}"
                check_errors(error, json.loads(text) if form == "json" else yaml.safe_load(text))
                continue
            counts[f"{form} valid"] += 1
            check_plan(plan_spec(spec, chunk_s))

    check()
    print(f"fuzzed specs: {dict(sorted(counts.items()))}")
    assert sum(counts.values()) >= 2000
    assert min(counts.values()) >= 300 and len(counts) == 4


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(text=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_arbitrary_text_gives_a_spec_or_field_errors(text):
    try:
        read_spec_text(text, "fuzz.yaml", default_id="fuzz")
    except SpecError as error:
        assert error.errors and all(e.path and e.message for e in error.errors)


@pytest.mark.parametrize("text", ["[" * 5000, '{"a":' * 5000, "a: " + "[" * 3000 + "]" * 3000, "- " * 5000 + "x"])
def test_deeply_nested_input_is_a_file_error_not_a_crash(text):
    with pytest.raises(SpecError, match=r"\(file\): nested too deeply to be a spec"):
        read_spec_text(text, "deep.yaml")
