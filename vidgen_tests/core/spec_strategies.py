"""hypothesis strategies for specs, valid and invalid, one entry per field.

To cover a new field, add one line to `SPEC_FIELDS` (or `BEAT_FIELDS`): the field's name, a strategy of
values it accepts, and one of values it must refuse with a field error. `specs()` picks fields at
random, each valid or not, and adds unknown fields and junk of any shape now and then.
"""

from __future__ import annotations

import json
import math
from typing import Any

import yaml
from hypothesis import strategies as st

from vidgen_assets.core.spec import ID_PATTERN, TRANSITIONS

Field = tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]
"""(values the field accepts, values it refuses)."""

junk: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
"""Anything YAML or JSON can hold."""


def one_of_literals(*allowed: Any) -> Field:
    return st.sampled_from(allowed), st.text(max_size=12).filter(lambda v: v not in allowed) | st.integers() | junk


def number(low: float, high: float, integer: bool = False, low_open: bool = False) -> Field:
    valid: st.SearchStrategy[Any] = (
        st.integers(math.ceil(low), math.floor(high))
        if integer
        else st.floats(low, high, exclude_min=low_open, allow_nan=False)
    )
    invalid = st.one_of(
        st.floats(max_value=low, exclude_max=not low_open),
        st.floats(min_value=high, exclude_min=True),
        st.just(math.nan),
        st.text(min_size=1, max_size=8).filter(lambda s: not _numeric(s)),
        st.lists(st.integers(), max_size=2),
    )
    return valid, invalid


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def text(min_size: int = 0, max_size: int = 200) -> Field:
    valid = st.text(min_size=min_size, max_size=min(max_size, 80))
    too_long = st.text(min_size=max_size + 1, max_size=max_size + 5)
    return valid, (
        too_long
        | st.lists(st.text(max_size=3), min_size=1, max_size=2)
        | st.dictionaries(st.text(), st.integers(), min_size=1)
    )


def optional(field: Field) -> Field:
    return field[0] | st.none(), field[1]


def switch(field: Field) -> Field:
    """A section that can also be `true` or `false`, like `music:` and `voice:`."""
    return field[0] | st.booleans(), field[1]


def section(fields: dict[str, Field]) -> Field:
    """A mapping of sub-fields: valid when every present sub-field is; invalid when one is not or an
    unknown key is there."""
    valid = st.fixed_dictionaries({}, optional={name: f[0] for name, f in fields.items()})
    invalid = st.one_of(
        *(
            st.fixed_dictionaries({name: f[1]}, optional={n: g[0] for n, g in fields.items() if n != name})
            for name, f in fields.items()
        ),
        st.fixed_dictionaries({"not_a_field": junk}),
        st.integers(),
        st.lists(st.integers(), min_size=1, max_size=2),
    )
    return valid, invalid


hex_colour = st.from_regex(r"^#[0-9a-fA-F]{6}$", fullmatch=True)
reference_name = st.from_regex(r"^[a-z][a-z0-9_]{0,31}$", fullmatch=True)

BEAT_FIELDS: dict[str, Field] = {
    "camera": one_of_literals("push_in", "pull_out", "pan_left", "pan_right", "static"),
    "text": optional(text()),
    "transition": one_of_literals(*TRANSITIONS),
    "transition_duration": number(0, 5),
    "say": (
        st.text(min_size=1, max_size=60).filter(str.strip).filter(str.isprintable),
        st.just("   ") | st.just("a\x00b"),
    ),
}
BEAT_REQUIRED: dict[str, Field] = {
    "name": text(1, 64),
    "duration": number(0, 60, low_open=True),
    "prompt": text(1, 2000),
}

STYLE = section(
    {
        "aesthetic": text(),
        "palette": (st.lists(hex_colour, max_size=4), st.lists(st.text(max_size=7), min_size=1, max_size=2)),
        "mood": text(),
    }
)

SPEC_FIELDS: dict[str, Field] = {
    "id": (st.from_regex(ID_PATTERN, fullmatch=True), st.sampled_from(["../x", "A", "a/b", "", "-a", "a" * 64])),
    "duration": number(5, 300),
    "aspect_ratio": one_of_literals("16:9", "9:16", "1:1"),
    "resolution": one_of_literals("480p", "576p", "720p", "1080p"),
    "fps": one_of_literals(24, 25, 30),
    "style": STYLE,
    "music": switch(section({"mood": text(), "bpm": number(40, 220, integer=True), "volume": number(0, 2)})),
    "cta": optional(text(0, 200)),
    "backend": one_of_literals("animatic", "replicate"),
    "planner": one_of_literals("library", "llm"),
    "seed": number(0, 2**31 - 1, integer=True),
    "budget_usd": number(0, 1e6, low_open=True),
    "voice": switch(section({"voice": text(1, 64), "speed": number(0.5, 2.0), "volume": number(0, 2)})),
    "subtitles": one_of_literals("soft", "burn", "off"),
}


@st.composite
def beat(draw: st.DrawFn, valid: bool) -> dict[str, Any]:
    """One beat: its required fields, some optional ones; when not `valid`, one field is bad."""
    out = {name: draw(f[0]) for name, f in BEAT_REQUIRED.items()}
    fields = {**BEAT_REQUIRED, **BEAT_FIELDS}
    for name in draw(st.lists(st.sampled_from(sorted(BEAT_FIELDS)), unique=True)):
        out[name] = draw(BEAT_FIELDS[name][0])
    if not valid:
        name = draw(st.sampled_from(sorted(fields)))
        out[name] = draw(fields[name][1])
    return out


@st.composite
def specs(draw: st.DrawFn) -> tuple[Any, bool]:
    """(spec data, whether every field drawn was meant to be valid). Invalid ones have one bad field,
    an unknown field, a missing prompt, bad beats or are not a mapping at all."""
    kind = draw(st.sampled_from(["valid", "valid", "valid", "bad_field", "bad_beat", "unknown", "no_prompt", "junk"]))
    if kind == "junk":
        return draw(junk.filter(lambda v: not isinstance(v, dict) or "prompt" not in v)), False
    data: dict[str, Any] = {"prompt": draw(text(1, 4000)[0])}
    for name in draw(st.lists(st.sampled_from(sorted(SPEC_FIELDS)), unique=True)):
        data[name] = draw(SPEC_FIELDS[name][0])
    if draw(st.booleans()) or kind == "bad_beat":
        beats = draw(st.lists(beat(valid=True), min_size=1, max_size=14))
        if kind == "bad_beat":
            beats[draw(st.integers(0, len(beats) - 1))] = draw(beat(valid=False))
        data["beats"] = beats
    if kind == "bad_field":
        name = draw(st.sampled_from(sorted(SPEC_FIELDS)))
        data[name] = draw(SPEC_FIELDS[name][1])
    elif kind == "unknown":
        data[draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in SPEC_FIELDS and k not in data))] = draw(
            junk
        )
    elif kind == "no_prompt":
        del data["prompt"]
    return data, kind == "valid"


def serialise(data: Any, form: str) -> str:
    if form == "json":
        return json.dumps(data)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
