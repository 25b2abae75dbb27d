"""Beats from a language model: the prompt it is asked, and the validation of its reply. Pure.

The model is asked for a JSON array of beats in the spec's own schema (`BeatSpec`). The reply is
accepted only when it parses, every beat validates, and the beats fill the video (durations summing to
within a beat of the duration; the beat rules then fit them exactly). Anything else raises
`LlmPlanError`, and the planner falls back to the library planner with a warning on the plan.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from vidgen_assets.core.plan import MIN_BEAT_SECONDS, max_beats
from vidgen_assets.core.spec import BeatSpec, Spec

SYSTEM_PROMPT = (
    "You are a storyboard planner for short advertising videos. You answer with JSON only: no prose, "
    "no markdown fences."
)
CAMERAS = ("push_in", "pull_out", "pan_left", "pan_right", "static")


class LlmPlanError(ValueError):
    """The model's reply is not a usable list of beats; the message says why."""


def build_prompt(spec: Spec) -> str:
    """The request for beats: the user's prompt, duration, style and the schema to answer in."""
    limit = max_beats(spec.duration)
    return (
        f"Plan the shots of a {spec.duration:g} second video.\n"
        f"Brief: {spec.prompt}\n"
        f"Style: {spec.style.aesthetic}; mood {spec.style.mood}.\n"
        f"Answer with a JSON array of 2 to {limit} beats whose durations (seconds, multiples of "
        f"{MIN_BEAT_SECONDS}) sum to {spec.duration:g}. Each beat is an object with exactly these keys: "
        '"name" (snake_case), "duration" (number), "prompt" (one sentence describing the shot for an image '
        f'model), "camera" (one of {", ".join(CAMERAS)}), "transition" (cut, fade or dissolve), and '
        'optionally "text" (short on-screen words).'
    )


def _json_array(text: str) -> Any:
    cleaned = re.sub(r"^```(?:json)?\s*|\s*```$", "", text.strip())
    start, end = cleaned.find("["), cleaned.rfind("]")
    if start < 0 or end < start:
        raise LlmPlanError("the reply holds no JSON array")
    try:
        return json.loads(cleaned[start : end + 1])
    except json.JSONDecodeError as exc:
        raise LlmPlanError(f"the reply is not valid JSON: {exc}") from None


def parse_beats(text: str, spec: Spec) -> tuple[BeatSpec, ...]:
    """The beats in the model's reply, validated against the spec schema; `LlmPlanError` otherwise."""
    data = _json_array(text)
    if not isinstance(data, list) or not data:
        raise LlmPlanError("the reply is not a non-empty JSON array of beats")
    beats = []
    for k, item in enumerate(data):
        if not isinstance(item, dict):
            raise LlmPlanError(f"beat {k} is not an object")
        try:
            beats.append(BeatSpec.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise LlmPlanError(f"beat {k}: {where}: {first['msg']}") from None
    total = sum(b.duration for b in beats)
    if abs(total - spec.duration) > MIN_BEAT_SECONDS:
        raise LlmPlanError(f"the beats last {total:g} s in all, the video {spec.duration:g} s")
    return tuple(beats)
