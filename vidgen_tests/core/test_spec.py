from pathlib import Path

import pytest

from vidgen_assets.core.spec import TRANSITIONS, SpecError, frame_size, load_spec, parse_spec

BEAT = {"name": "hero", "duration": 5, "prompt": "a bottle"}


def errors(data, source="s.yaml"):
    with pytest.raises(SpecError) as caught:
        parse_spec(data, source)
    return {e.path: e.message for e in caught.value.errors}, str(caught.value)


def test_minimal_spec_gets_the_documented_defaults():
    spec = parse_spec({"id": "cold-brew", "prompt": "coffee"})
    assert (spec.duration, spec.aspect_ratio, spec.resolution, spec.fps) == (30, "16:9", "576p", 24)
    assert spec.size == (1024, 576)
    assert spec.backend == "animatic"
    assert spec.music is not None and spec.music.bpm == 100
    assert spec.beats is None


@pytest.mark.parametrize(
    ("ratio", "resolution", "size"),
    [
        ("16:9", "576p", (1024, 576)),
        ("16:9", "480p", (854, 480)),
        ("16:9", "720p", (1280, 720)),
        ("16:9", "1080p", (1920, 1080)),
        ("9:16", "720p", (720, 1280)),
        ("9:16", "576p", (576, 1024)),
        ("1:1", "480p", (480, 480)),
    ],
)
def test_frame_size(ratio, resolution, size):
    assert frame_size(ratio, resolution) == size


def test_music_false_turns_music_off_and_true_gives_defaults():
    assert parse_spec({"id": "a", "prompt": "p", "music": False}).music is None
    on = parse_spec({"id": "a", "prompt": "p", "music": True, "style": {"mood": "calm"}})
    assert on.music is not None and on.music_mood == "calm"


def test_missing_prompt_names_the_field():
    found, text = errors({"id": "a"})
    assert found == {"prompt": "required field is missing"}
    assert text.startswith("invalid spec s.yaml:")


@pytest.mark.parametrize("duration", [-3, 0, 4.9, 301, 10_000])
def test_duration_out_of_range(duration):
    found, _ = errors({"id": "a", "prompt": "p", "duration": duration})
    assert found == {"duration": f"got {duration!r}; a video lasts 5 to 300 seconds"}


def test_unknown_transition_lists_what_is_allowed():
    found, _ = errors({"id": "a", "prompt": "p", "beats": [BEAT, {**BEAT, "transition": "swoosh"}]})
    message = found["beats[1].transition"]
    assert message.startswith("unknown transition 'swoosh'; allowed: cut, bridge, fade, dissolve")
    assert "wipeleft" in message


def test_every_xfade_name_is_accepted():
    for name in TRANSITIONS:
        parse_spec({"id": "a", "prompt": "p", "beats": [{**BEAT, "transition": name}]})


def test_unknown_aspect_ratio_camera_and_field_are_reported_together():
    found, _ = errors(
        {
            "id": "a",
            "prompt": "p",
            "aspect_ratio": "4:3",
            "colour": "red",
            "beats": [{**BEAT, "camera": "zoom"}],
        }
    )
    assert found == {
        "aspect_ratio": "got '4:3'; allowed: '16:9', '9:16' or '1:1'",
        "beats[0].camera": "got 'zoom'; allowed: 'push_in', 'pull_out', 'pan_left', 'pan_right' or 'static'",
        "colour": "unknown field (check the spelling; see the spec format in README.md)",
    }


@pytest.mark.parametrize("bad_id", ["a/b", "../etc", "..", "Cold Brew", "-x", "a" * 64, ""])
def test_ids_that_could_escape_or_are_not_slugs_are_refused(bad_id):
    found, _ = errors({"id": bad_id, "prompt": "p"})
    assert "id" in found and "no '/', '..'" in found["id"]


def test_beats_must_be_a_non_empty_list():
    assert errors({"id": "a", "prompt": "p", "beats": "hero"})[0] == {"beats": "beats must be a list of beats, got str"}
    assert "beats is empty" in errors({"id": "a", "prompt": "p", "beats": []})[0]["beats"]
    assert errors({"id": "a", "prompt": "p", "beats": {"name": "x"}})[0] == {
        "beats": "beats must be a list of beats, got dict"
    }


def test_palette_colours_are_hex():
    found, _ = errors({"id": "a", "prompt": "p", "style": {"palette": ["#123456", "red"]}})
    assert found == {"style.palette": "'red' is not a colour; use #rrggbb, e.g. '#3b2314'"}


def test_a_spec_that_is_not_a_mapping():
    assert errors([1, 2])[0] == {"(spec)": "a spec is a mapping of fields, got list"}


def test_load_spec_defaults_the_id_to_the_file_stem(tmp_path: Path):
    path = tmp_path / "My_Ad.yaml"
    path.write_text("prompt: coffee\n")
    assert load_spec(path).id == "my-ad"


def test_load_spec_reads_json(tmp_path: Path):
    path = tmp_path / "x.json"
    path.write_text('{"id": "json-spec", "prompt": "coffee", "duration": 10}')
    assert load_spec(path).duration == 10


def test_load_spec_that_is_not_yaml_names_the_file(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text("prompt: [unclosed\n  - : :\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert caught.value.source == str(path)
    assert caught.value.errors[0].path == "(file)"
    assert "not valid YAML or JSON" in caught.value.errors[0].message


# Version 2 fields: references, uses, say, voice, subtitles, bridge (DESIGN.md, "Version 2").
REFS = {"product": {"image": "refs/bottle.png", "describe": "amber bottle"}, "host": {"image": "host.jpg"}}


def test_uses_absent_means_every_reference_and_empty_means_none():
    spec = parse_spec(
        {
            "id": "a",
            "prompt": "p",
            "references": REFS,
            "beats": [BEAT, {**BEAT, "uses": []}, {**BEAT, "uses": ["host"]}],
        }
    )
    assert [spec.beat_references(b) for b in spec.beats or ()] == [("product", "host"), (), ("host",)]


def test_uses_naming_an_unknown_reference_names_the_beat_and_position():
    found, _ = errors(
        {"id": "a", "prompt": "p", "references": REFS, "beats": [BEAT, {**BEAT, "uses": ["host", "logo"]}]}
    )
    assert found == {"beats[1].uses[1]": "unknown reference 'logo'; defined: host, product"}
    found, _ = errors({"id": "a", "prompt": "p", "beats": [{**BEAT, "uses": ["logo"]}]})
    assert found == {"beats[0].uses[0]": "unknown reference 'logo'; defined: none: the spec has no references"}


@pytest.mark.parametrize("name", ["Product", "1st", "my-logo", "a" * 33, ""])
def test_bad_reference_names_are_field_errors(name):
    found, _ = errors({"id": "a", "prompt": "p", "references": {name: {"image": "x.png"}}})
    assert list(found) == [f"references.{name}"]
    assert "a-z, 0-9 and '_'" in found[f"references.{name}"]


def test_reference_without_image_is_a_field_error():
    found, _ = errors({"id": "a", "prompt": "p", "references": {"product": {"describe": "x"}}})
    assert found == {"references.product.image": "required field is missing"}


@pytest.mark.parametrize(
    ("say", "fragment"),
    [("", "empty or only whitespace"), ("  \n\t", "empty or only whitespace"), ("a\x00b", "'\\x00' at position 1"),
     ("stop\x1b[0m", "'\\x1b' at position 4")],
)  # fmt: skip
def test_unspeakable_lines_are_field_errors(say, fragment):
    found, _ = errors({"id": "a", "prompt": "p", "beats": [BEAT, {**BEAT, "say": say}]})
    assert list(found) == ["beats[1].say"] and fragment in found["beats[1].say"]


def test_quotes_newlines_emoji_and_right_to_left_text_are_kept_as_written():
    line = '"Don\'t" stop:\n100% שלום 😀 — مرحبا'
    spec = parse_spec({"id": "a", "prompt": "p", "beats": [{**BEAT, "say": line}]})
    assert spec.beats is not None and spec.beats[0].say == line


def test_subtitles_default_follow_say_and_voice_false_mutes():
    assert parse_spec({"id": "a", "prompt": "p", "beats": [BEAT]}).subtitle_mode == "off"
    said = parse_spec({"id": "a", "prompt": "p", "voice": False, "beats": [{**BEAT, "say": "hi"}]})
    assert (said.subtitle_mode, said.voice) == ("soft", None)
    burnt = parse_spec({"id": "a", "prompt": "p", "subtitles": "burn", "beats": [{**BEAT, "say": "hi"}]})
    assert burnt.subtitle_mode == "burn" and burnt.voice is not None and burnt.voice.voice == "narrator"
    found, _ = errors({"id": "a", "prompt": "p", "subtitles": "hard", "voice": {"speed": 3}})
    assert found == {"subtitles": "got 'hard'; allowed: 'soft', 'burn' or 'off'",
                     "voice.speed": "Input should be less than or equal to 2 (got 3)"}  # fmt: skip


def test_bridge_lasts_one_second_unless_told():
    spec = parse_spec(
        {
            "id": "a",
            "prompt": "p",
            "beats": [
                {**BEAT, "transition": "bridge"},
                {**BEAT, "transition": "bridge", "transition_duration": 2},
                {**BEAT, "transition": "fade"},
            ],
        }
    )
    assert [b.transition_duration for b in spec.beats or ()] == [1.0, 2.0, 0.5]
