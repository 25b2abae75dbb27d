"""Variants made whole (`core.variants.expand`): ids, merging, beats by index, errors at the variant's path."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vidgen_assets.core.spec import SpecError, parse_spec
from vidgen_assets.core.variants import describe_changes, expand, read_spec_set
from vidgen_tests.core.spec_strategies import BEAT_FIELDS, SPEC_FIELDS

BEAT = {"name": "hero", "duration": 5, "prompt": "a bottle"}
BASE: dict[str, Any] = {
    "id": "ad",
    "prompt": "coffee",
    "duration": 15,
    "cta": "Order today",
    "voice": {"voice": "narrator", "speed": 1.2},
    "style": {"aesthetic": "warm", "palette": ["#3b2314"], "mood": "calm"},
    "beats": [BEAT, {**BEAT, "name": "pour"}, {**BEAT, "name": "end", "text": "Bye"}],
}


def errors(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SpecError) as caught:
        expand(data, "ad.yaml")
    assert str(caught.value).startswith("invalid spec ad.yaml:")
    return {e.path: e.message for e in caught.value.errors}


def test_each_variant_is_the_base_with_its_fields_merged_in() -> None:
    variants = [
        {"name": "b", "cta": "Try it free", "voice": {"voice": "en-gb"}},
        {"name": "vertical", "aspect_ratio": "9:16"},
        {"name": "hook2", "beats": {0: {"text": "Still paying too much?"}, "2": {"prompt": "a smile"}}},
        {"name": "quiet", "voice": False, "style": {"mood": "bold"}},
    ]
    found = expand({**BASE, "variants": variants}, "ad.yaml")
    assert found.base.id == "ad"
    b, vertical, hook2, quiet = found.variants
    assert [v.video_id for v in found.variants] == ["ad--b", "ad--vertical", "ad--hook2", "ad--quiet"]
    # A mapping merges into the base's mapping: the voice keeps its speed.
    assert b.spec.cta == "Try it free" and b.spec.voice is not None
    assert (b.spec.voice.voice, b.spec.voice.speed) == ("en-gb", 1.2)
    assert vertical.spec.size == (576, 1024) and vertical.spec.cta == "Order today"
    assert hook2.spec.beats is not None
    assert [x.text for x in hook2.spec.beats] == ["Still paying too much?", None, "Bye"]
    assert [x.prompt for x in hook2.spec.beats] == ["a bottle", "a bottle", "a smile"]
    assert quiet.spec.voice is None and quiet.spec.style.model_dump() == {
        "aesthetic": "warm", "palette": ("#3b2314",), "mood": "bold"
    }  # fmt: skip
    for variant in found.variants:
        assert variant.spec.variants is None and "variants" not in variant.data
        assert parse_spec(variant.data) == variant.spec
    assert BASE["beats"][0] == BEAT  # the base's data is not changed
    assert describe_changes(hook2.changes.changes) == "beats.0.text='Still paying too much?', beats.2.prompt='a smile'"


def test_a_matrix_makes_every_combination_in_product_order() -> None:
    matrix = {"cta": ["Order today", "Try it free"], "voice": [{"voice": "narrator"}, {"voice": "en-gb"}]}
    found = expand({**BASE, "variants": {"matrix": matrix}})
    assert [v.video_id for v in found.variants] == ["ad--v01", "ad--v02", "ad--v03", "ad--v04"]
    got = [(v.spec.cta, v.spec.voice.voice if v.spec.voice else None) for v in found.variants]
    assert got == [("Order today", "narrator"), ("Order today", "en-gb"), ("Try it free", "narrator"),
                   ("Try it free", "en-gb")]  # fmt: skip


def test_bad_variants_are_named_where_they_were_written_and_none_is_made() -> None:
    found = errors(
        {
            **BASE,
            "variants": [
                {"name": "ok", "cta": "fine"},
                {"name": "far", "beats": {4: {"text": "x"}}},
                {"name": "deep", "voice": {"voice": "", "speed": 1}},
                {"name": "beat", "beats": {1: {"camera": "dolly"}, "x": {"text": "y"}, 0: "text"}},
                {"name": "short", "beats": [{"name": "a", "duration": 5}]},
            ],
        }
    )
    assert found["variants[1].beats.4"] == "no beat 4; the spec has 3 (indices 0 to 2)"
    assert found["variants[2].voice.voice"].startswith("String should have at least 1 character")
    assert found["variants[3].beats.1.camera"].startswith("got 'dolly'; allowed: 'push_in'")
    assert found["variants[3].beats.x"] == "a beat is changed by its index, 0 to 2; got 'x'"
    assert found["variants[3].beats.0"].startswith("a beat's changes are a mapping of its fields")
    assert found["variants[4].beats[0].prompt"] == "required field is missing"
    assert not any(path.startswith("variants[0]") for path in found)


def test_a_matrix_value_is_named_by_its_field_and_place_once() -> None:
    found = errors({**BASE, "variants": {"matrix": {"cta": ["a", "b"], "fps": [24, 31]}}})
    assert found == {"variants.matrix.fps[1]": "got 31; allowed: 24, 25 or 30"}


def test_beats_changed_by_index_need_beats_in_the_spec() -> None:
    spec = {k: v for k, v in BASE.items() if k != "beats"}
    found = errors({**spec, "variants": [{"name": "b", "beats": {0: {"text": "x"}}}]})
    assert found["variants[0].beats"].startswith("the spec has no beats to change")


def test_read_spec_set_defaults_the_id_to_the_file_and_keeps_the_spec_rules() -> None:
    text = "prompt: p\nvariants:\n  - {name: b, cta: x}\n  - {name: b, cta: y}\n"
    with pytest.raises(SpecError) as caught:
        read_spec_set(text, "my-ad.yaml", default_id="my-ad")
    assert [str(e) for e in caught.value.errors] == ["variants[1].name: 'b' is used twice; a name is unique"]
    found = read_spec_set("prompt: p\nvariants: [{name: b, cta: x}]\n", "my-ad.yaml", default_id="my-ad")
    assert [v.video_id for v in found.variants] == ["my-ad--b"]
    assert "id: my-ad--b" in found.variants[0].source_text("my-ad.yaml")


OVERRIDABLE = sorted(set(SPEC_FIELDS) - {"id"})


@st.composite
def override_sets(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[bool]]:
    """Up to 4 variants, each changing a few fields, each field's value valid or not (per the field's
    strategies in `spec_strategies`)."""
    variants, valid = [], []
    for i in range(draw(st.integers(1, 4))):
        changes: dict[str, Any] = {}
        ok = True
        for name in draw(st.lists(st.sampled_from(OVERRIDABLE), min_size=1, max_size=3, unique=True)):
            good = draw(st.booleans()) or draw(st.booleans()) or name == "budget_usd"  # no upper bound
            changes[name] = draw(SPEC_FIELDS[name][0 if good else 1])
            ok = ok and good
        variants.append({"name": f"v{i}", **changes})
        valid.append(ok)
    return variants, valid


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(override_sets())
def test_generated_override_sets_make_valid_variants_or_errors_at_their_own_paths(
    drawn: tuple[list[dict[str, Any]], list[bool]],
) -> None:
    variants, valid = drawn
    data = {"id": "gen", "prompt": "a prompt", "variants": variants}
    try:
        found = expand(data)
    except SpecError as exc:
        # Every problem is placed at the variant that wrote it, and only variants given a value the field
        # strategies call bad have problems (a few of those are accepted: `style.aesthetic` has no limit).
        bad = {int(e.path[len("variants[") :].split("]")[0]) for e in exc.errors if e.path.startswith("variants[")}
        assert all(e.path.startswith("variants[") for e in exc.errors), exc.errors
        assert bad and bad <= {i for i, ok in enumerate(valid) if not ok}
        return
    assert [v.video_id for v in found.variants] == [f"gen--v{i}" for i in range(len(variants))]
    for variant, written in zip(found.variants, variants, strict=True):
        assert {k: variant.data[k] for k in written if k != "name"} == {k: v for k, v in written.items() if k != "name"}
        assert parse_spec(variant.data) == variant.spec


BEATS = [{"name": f"b{i}", "duration": 5, "prompt": f"shot {i}"} for i in range(3)]


@st.composite
def beat_override_sets(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[set[str]]]:
    """Variants changing beats by index (0-5 of a 3-beat spec), each field's value valid or not; with the
    paths (`variants[i].beats.k`) that must be reported."""
    variants, expected = [], []
    for i in range(draw(st.integers(1, 3))):
        beats: dict[int, dict[str, Any]] = {}
        bad: set[str] = set()
        for index in draw(st.lists(st.integers(0, 5), min_size=1, max_size=3, unique=True)):
            name = draw(st.sampled_from(sorted(BEAT_FIELDS)))
            good = draw(st.booleans()) or draw(st.booleans()) or name == "text"  # text has no length limit
            beats[index] = {name: draw(BEAT_FIELDS[name][0 if good else 1])}
            if index >= len(BEATS) or not good:
                bad.add(f"variants[{i}].beats.{index}")
        variants.append({"name": f"v{i}", "beats": beats})
        expected.append(bad)
    return variants, expected


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(beat_override_sets())
def test_generated_beat_changes_land_on_their_beats_or_are_reported_at_their_index(
    drawn: tuple[list[dict[str, Any]], list[set[str]]],
) -> None:
    variants, expected = drawn
    data = {"id": "gen", "prompt": "p", "duration": 15, "beats": BEATS, "variants": variants}
    want = set().union(*expected)
    try:
        found = expand(data)
    except SpecError as exc:
        # Each problem at the beat index the variant wrote (`variants[i].beats.k...`).
        got = {".".join(e.path.split(".")[:3]) for e in exc.errors}
        assert want and got == want, exc.errors
        return
    assert not want
    for variant, written in zip(found.variants, variants, strict=True):
        beats = variant.data["beats"]
        for index, fields in written["beats"].items():
            assert beats[index] == {**BEATS[index], **fields}
        untouched = [k for k in range(len(BEATS)) if k not in written["beats"]]
        assert all(beats[k] == BEATS[k] for k in untouched)
