import pytest

from vidgen_assets.core.plan import max_beats
from vidgen_assets.core.planner import ARCHETYPES, BEAT_LIBRARY, choose_archetype, library_beats, plan_spec
from vidgen_assets.core.spec import parse_spec


def spec(prompt, duration, **extra):
    return parse_spec({"id": "v", "prompt": prompt, "duration": duration, **extra})


def test_library_has_fifteen_beats_of_five_ten_or_fifteen_seconds_and_five_archetypes():
    assert len(BEAT_LIBRARY) == 15
    assert {b.duration for b in BEAT_LIBRARY.values()} == {5, 10, 15}
    assert {a.name for a in ARCHETYPES} == {
        "luxury_showcase", "energetic_lifestyle", "minimalist_reveal", "emotional_storytelling", "product_demo",
    }  # fmt: skip
    for archetype in ARCHETYPES:
        for name in (archetype.opening, archetype.closing, *archetype.middle):
            assert name in BEAT_LIBRARY


@pytest.mark.parametrize(
    ("prompt", "archetype"),
    [
        ("a luxury watch, elegant and premium", "luxury_showcase"),
        ("energetic sport drink for a fast run", "energetic_lifestyle"),
        ("minimalist reveal of a clean tech gadget", "minimalist_reveal"),
        ("a family story about memories at home", "emotional_storytelling"),
        ("30 second ad for a cold brew coffee brand", "product_demo"),
    ],
)
def test_archetype_is_chosen_from_the_prompt(prompt, archetype):
    assert choose_archetype(prompt).name == archetype


def test_thirty_second_product_demo_beats():
    archetype, beats = library_beats(spec("cold brew coffee", 30))
    assert archetype.name == "product_demo"
    assert [(b.name, b.duration, b.transition) for b in beats] == [
        ("hero_shot", 5, "fade"),
        ("detail_showcase", 5, "fade"),
        ("usage_scenario", 10, "fade"),
        ("detail_showcase", 5, "fade"),
        ("call_to_action", 5, "cut"),
    ]
    assert beats[0].prompt == "hero shot of cold brew coffee, centred, cinematic"


@pytest.mark.parametrize("duration", [5, 7, 10, 12.5, 15, 20, 29, 30, 45, 60, 90, 120, 300])
@pytest.mark.parametrize("prompt", ["luxury perfume", "energetic dance", "clean app", "family love", "coffee"])
def test_planned_beats_fill_the_duration_within_the_beat_cap(prompt, duration):
    plan = plan_spec(spec(prompt, duration), 5)
    assert plan.planner.startswith("library:")
    assert len(plan.beats) <= max_beats(duration)
    assert sum(b.frames for b in plan.beats) == plan.total_frames == round(duration * 24)
    assert plan.truncation is None
    assert all(b.frames >= 5 * 24 for b in plan.beats[:-1])


def test_the_planner_is_deterministic_and_uses_the_style():
    a = plan_spec(spec("luxury perfume", 30, style={"aesthetic": "noir"}), 5)
    b = plan_spec(spec("luxury perfume", 30, style={"aesthetic": "noir"}), 5)
    assert a == b
    assert all(beat.prompt.endswith("noir") for beat in a.beats)


def test_a_spec_with_beats_is_not_replanned():
    plan = plan_spec(spec("x", 10, beats=[{"name": "mine", "duration": 10, "prompt": "mine"}]), 5)
    assert plan.planner == "spec"
    assert [b.name for b in plan.beats] == ["mine"]
