"""The library planner: beats for a spec that has none, chosen from the prompt and the duration.

Deterministic: the same prompt, duration and style always give the same beats. A beat library of 15
shots (5, 10 or 15 s) and five archetypes (a look, an order of shots, a default transition). The
archetype is picked by keywords in the prompt; each beat's prompt is composed from its template, the
user's prompt and the style.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vidgen_assets.core.llm_plan import SYSTEM_PROMPT, LlmPlanError, build_prompt, parse_beats
from vidgen_assets.core.plan import MIN_BEAT_SECONDS, Plan, PlannedMusic, build_plan
from vidgen_assets.core.spec import BeatSpec, Camera, Spec


@dataclass(frozen=True)
class LibraryBeat:
    name: str
    duration: int
    camera: Camera
    template: str
    """`{subject}` is the user's prompt; `{aesthetic}` the style's aesthetic."""


BEAT_LIBRARY: dict[str, LibraryBeat] = {
    b.name: b
    for b in (
        LibraryBeat("hero_shot", 5, "push_in", "hero shot of {subject}, centred, {aesthetic}"),
        LibraryBeat("detail_showcase", 5, "pan_right", "extreme close-up details of {subject}, {aesthetic}"),
        LibraryBeat("brand_moment", 5, "static", "brand moment: logo and colours of {subject}, {aesthetic}"),
        LibraryBeat("call_to_action", 5, "pull_out", "closing shot of {subject} with room for text, {aesthetic}"),
        LibraryBeat("product_in_motion", 5, "pan_left", "{subject} in motion, dynamic angle, {aesthetic}"),
        LibraryBeat("texture_closeup", 5, "push_in", "macro texture shot related to {subject}, {aesthetic}"),
        LibraryBeat("reveal", 5, "pull_out", "slow reveal of {subject} from darkness, {aesthetic}"),
        LibraryBeat("usage_scenario", 10, "pan_right", "a person using {subject} in everyday life, {aesthetic}"),
        LibraryBeat("lifestyle_montage", 10, "pan_left", "lifestyle scenes around {subject}, {aesthetic}"),
        LibraryBeat("transformation", 10, "push_in", "before and after with {subject}, {aesthetic}"),
        LibraryBeat("social_proof", 10, "static", "happy customers enjoying {subject}, {aesthetic}"),
        LibraryBeat("behind_the_scenes", 10, "pan_right", "how {subject} is made, craft and care, {aesthetic}"),
        LibraryBeat("origin_story", 15, "pan_left", "the story behind {subject}, where it comes from, {aesthetic}"),
        LibraryBeat("day_in_the_life", 15, "pan_right", "a day in the life with {subject}, dawn to dusk, {aesthetic}"),
        LibraryBeat("emotional_journey", 15, "push_in", "an emotional journey shared over {subject}, {aesthetic}"),
    )
}  # fmt: skip


@dataclass(frozen=True)
class Archetype:
    name: str
    keywords: tuple[str, ...]
    opening: str
    middle: tuple[str, ...]
    """Cycled through, each used when it fits the time left before the closing beat."""
    closing: str
    transition: str


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype(
        "luxury_showcase",
        ("luxury", "premium", "elegant", "exclusive", "jewel", "watch", "perfume", "gold", "couture"),
        "reveal", ("detail_showcase", "texture_closeup", "behind_the_scenes", "hero_shot"), "brand_moment", "dissolve",
    ),
    Archetype(
        "energetic_lifestyle",
        ("energetic", "energy", "sport", "fitness", "run", "dance", "party", "fast", "bold", "music video"),
        "product_in_motion", ("lifestyle_montage", "hero_shot", "usage_scenario", "detail_showcase"),
        "call_to_action", "cut",
    ),
    Archetype(
        "minimalist_reveal",
        ("minimal", "minimalist", "clean", "simple", "tech", "app", "software", "design", "modern"),
        "reveal", ("hero_shot", "detail_showcase", "usage_scenario"), "call_to_action", "fade",
    ),
    Archetype(
        "emotional_storytelling",
        ("story", "family", "emotional", "love", "memories", "journey", "heart", "together", "home"),
        "hero_shot", ("emotional_journey", "social_proof", "day_in_the_life", "brand_moment"), "call_to_action",
        "fade",
    ),
    Archetype(
        "product_demo",
        (),
        "hero_shot", ("detail_showcase", "usage_scenario", "transformation", "social_proof"), "call_to_action", "fade",
    ),
)  # fmt: skip


def choose_archetype(prompt: str) -> Archetype:
    """The archetype whose keywords occur most often in the prompt; `product_demo` when none do."""
    text = prompt.lower()
    scores = [(sum(text.count(k) for k in a.keywords), -i, a) for i, a in enumerate(ARCHETYPES)]
    best_score, _, best = max(scores, key=lambda s: (s[0], s[1]))
    return best if best_score > 0 else ARCHETYPES[-1]


def library_beats(spec: Spec) -> tuple[Archetype, tuple[BeatSpec, ...]]:
    """Beats filling `spec.duration`: an opening, middle beats that fit, and a closing beat.

    The closing beat ends exactly at the duration (the beat rules extend it by what is left over).
    """
    archetype = choose_archetype(spec.prompt)
    total = spec.duration
    opening = BEAT_LIBRARY[archetype.opening]
    closing = BEAT_LIBRARY[archetype.closing]
    chosen = [opening]
    if total >= opening.duration + closing.duration:
        used = opening.duration
        budget = total - closing.duration
        i = 0
        misses = 0
        while misses < len(archetype.middle):
            candidate = BEAT_LIBRARY[archetype.middle[i % len(archetype.middle)]]
            i += 1
            if used + candidate.duration <= budget:
                chosen.append(candidate)
                used += candidate.duration
                misses = 0
            else:
                misses += 1
            if budget - used < MIN_BEAT_SECONDS:
                break
        chosen.append(closing)

    subject = spec.prompt.strip().rstrip(".")
    beats = []
    for k, item in enumerate(chosen):
        last = k == len(chosen) - 1
        beats.append(
            BeatSpec(
                name=item.name,
                duration=item.duration,
                prompt=item.template.format(subject=subject, aesthetic=spec.style.aesthetic),
                camera=item.camera,
                transition="cut" if last else archetype.transition,
            )
        )
    return archetype, tuple(beats)


AskLlm = Callable[[str, str], tuple[str, str]]
"""(system prompt, prompt) -> (reply text, model id). Raises on a failed call."""


def plan_spec(
    spec: Spec, chunk_seconds: float, ask_llm: AskLlm | None = None, music_track: PlannedMusic | None = None
) -> Plan:
    """The plan for a spec: its own beats, or the planner's when it has none. `music_track`: the spec's
    `music.file` as read at registration (with its tracked beats when the spec has `music.sync`).

    With `planner: llm` and an `ask_llm` (the backend's language model), the beats come from the model's
    reply when it validates; otherwise from the library planner, with a warning on the plan saying why.
    """
    if spec.beats is not None:
        return build_plan(spec, chunk_seconds, planner="spec", music_track=music_track)
    warning = None
    if spec.planner == "llm":
        if ask_llm is None and spec.backend == "replicate":
            warning = "planner llm: the language model plans the beats at render time (not asked here)"
        elif ask_llm is None:
            warning = f"planner llm needs a backend with a language model (backend {spec.backend!r} has none)"
        else:
            try:
                reply, model = ask_llm(SYSTEM_PROMPT, build_prompt(spec))
            except Exception as exc:  # the backend's call failed for good: plan without it
                warning = f"planner llm call failed ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
            else:
                try:
                    beats = parse_beats(reply, spec)
                except LlmPlanError as exc:
                    warning = f"planner llm ({model}) gave unusable beats ({exc})"
                else:
                    planned = spec.model_copy(update={"beats": beats})
                    return build_plan(planned, chunk_seconds, planner=f"llm:{model}", music_track=music_track)
    archetype, library = library_beats(spec)
    planned = spec.model_copy(update={"beats": library})
    plan = build_plan(planned, chunk_seconds, planner=f"library:{archetype.name}", music_track=music_track)
    if warning is not None:
        plan = plan.model_copy(update={"warnings": (f"{warning}: used the library planner", *plan.warnings)})
    return plan
