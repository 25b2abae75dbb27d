from pathlib import Path

import pytest

from vidgen_assets.core.spec import (
    TRANSITIONS,
    Spec,
    SpecError,
    frame_size,
    load_spec,
    not_built_errors,
    parse_spec,
    variant_names,
)

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
        "colour": "unknown field (check the spelling; every field is in docs/reference/spec-fields.md)",
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
    assert found == {"subtitles": "got 'hard'; allowed: 'soft', 'burn' or 'off' (or {mode, words, style, safe_area})",
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


# Version 3 fields (DESIGN.md, "Version 3"): their shapes are validated now; each feature's fields are
# refused with a clear "not built" error until that feature lands (`not_built_errors`).
BASE = {"id": "ad", "prompt": "p"}


def test_version_3_defaults_leave_a_version_2_spec_as_it_was():
    spec = parse_spec(BASE)
    assert spec.qc is not None and (spec.qc.retakes, spec.qc.judge, spec.qc.min_score) == (None, "local", 0.6)
    assert (spec.audio.loudness, spec.audio.true_peak) == (-14.0, -1.0)
    assert spec.subtitles.mode is None and spec.subtitle_mode == "off"
    assert (spec.subtitles.words, spec.subtitles.safe_area, spec.subtitles.style.font) == (False, "none", "DejaVu Sans")
    assert spec.variants is None and spec.comfyui is None
    assert spec.music is not None and (spec.music.file, spec.music.sync) == (None, None)
    # The string forms of subtitles are the object's mode; `qc: false` turns checks off.
    assert parse_spec({**BASE, "subtitles": "burn"}).subtitles.mode == "burn"
    assert parse_spec({**BASE, "subtitles": {"mode": "off"}}).subtitle_mode == "off"
    assert parse_spec({**BASE, "qc": False}).qc is None


def test_a_stored_plan_written_before_version_3_still_loads():
    """spec.json of an older render holds `subtitles` as a string and none of the new fields."""
    old = Spec.model_validate({**BASE, "subtitles": "soft", "beats": [{**BEAT, "say": "hi"}]})
    assert old.subtitle_mode == "soft" and old.audio.loudness == -14.0


@pytest.mark.parametrize(
    ("fields", "path", "words"),
    [
        ({"qc": {"retakes": 6}}, "qc.retakes", "less than or equal to 5"),
        ({"qc": {"judge": "gpt"}}, "qc.judge", "allowed: 'local' or 'replicate'"),
        ({"qc": {"min_score": 1.5}}, "qc.min_score", "less than or equal to 1"),
        ({"beats": [{**BEAT, "take": 0}]}, "beats[0].take", "greater than or equal to 1"),
        ({"audio": {"loudness": -40}}, "audio.loudness", "greater than or equal to -30"),
        ({"audio": {"true_peak": 0.5}}, "audio.true_peak", "less than or equal to 0"),
        ({"audio": {"lufs": -14}}, "audio.lufs", "unknown field"),
        ({"music": {"file": "track.mp3", "bpm": 120}}, "music", "leave bpm out with file"),
        ({"music": {"sync": "bars"}}, "music.sync", "allowed: 'beats'"),
        ({"subtitles": {"mode": "loud"}}, "subtitles.mode", "allowed: 'soft', 'burn' or 'off'"),
        ({"subtitles": {"style": {"color": "red"}}}, "subtitles.style.color", "use #rrggbb"),
        ({"subtitles": {"style": {"background": "#000"}}}, "subtitles.style.background", "#rrggbbaa"),
        ({"subtitles": {"style": {"size": 0.5}}}, "subtitles.style.size", "less than or equal to 0.2"),
        ({"subtitles": {"style": {"position": "left"}}}, "subtitles.style.position", "'bottom', 'top' or 'middle'"),
        ({"subtitles": {"safe_area": "youtube"}}, "subtitles.safe_area", "'tiktok', 'reels' or 'shorts'"),
        ({"variants": "b"}, "variants", "a list of {name, fields to change}, {matrix"),
        ({"variants": []}, "variants", "variants is empty"),
        ({"variants": [{"name": "B", "cta": "x"}]}, "variants[0].name", "1-31 characters of a-z, 0-9 and '-'"),
        ({"variants": [{"cta": "x"}]}, "variants[0].name", "required field is missing"),
        ({"backend": "comfy"}, "backend", "'animatic', 'replicate' or 'comfyui'"),
        ({"comfyui": {"servers": ["ftp://gpu"]}}, "comfyui.servers[0]", "an http:// or https:// URL"),
        ({"comfyui": {"workflows": {"image": {"file": "t2i.json", "output": "9", "prompt": "text"}}}},
         "comfyui.workflows.image.prompt", "NODE_ID.INPUT_NAME"),
        ({"comfyui": {"workflows": {"image": {"file": "t2i.json", "prompt": "6.text"}}}},
         "comfyui.workflows.image.output", "required field is missing"),
    ],
)  # fmt: skip
def test_version_3_fields_are_validated_with_their_path(fields, path, words):
    found, _ = errors({**BASE, **fields})
    assert path in found, found
    assert words in found[path]


def test_variant_sets_are_checked_as_a_whole():
    found, _ = errors({**BASE, "variants": [{"name": "b", "cta": "x"}, {"name": "b", "voce": {}}, {"name": "c"}]})
    assert found["variants[1].name"] == "'b' is used twice; a name is unique"
    assert found["variants[1].voce"].startswith("unknown field 'voce'; a variant changes any field of the spec but id")
    assert found["variants[2]"] == "changes nothing: give the fields it changes"
    many = [{"name": f"n{i}", "cta": str(i)} for i in range(51)]
    assert errors({**BASE, "variants": many})[0]["variants"] == "51 variants; at most 50"
    matrix = {"matrix": {"cta": [str(i) for i in range(10)], "fps": [24, 25, 30], "id": ["x", "y"]}}
    found, _ = errors({**BASE, "variants": matrix})
    assert found["variants.matrix"] == "10 x 3 x 2 = 60 variants; at most 50"
    assert found["variants.matrix.id"].startswith("unknown field 'id'")
    long_id = {**BASE, "id": "a" * 60, "variants": [{"name": "long-name", "cta": "x"}]}
    assert f"  variants: variant id '{'a' * 60}--long-name' is longer than 63 characters" in errors(long_id)[1]


def test_variant_names_are_as_written_or_numbered_for_a_matrix():
    spec = Spec.model_validate({**BASE, "variants": {"matrix": {"cta": ["a", "b"], "fps": [24, 25, 30]}}})
    assert variant_names(spec) == ["v01", "v02", "v03", "v04", "v05", "v06"]
    spec = Spec.model_validate(
        {**BASE, "variants": [{"name": "b", "cta": "x"}, {"name": "vertical", "aspect_ratio": "9:16"}]}
    )
    assert variant_names(spec) == ["b", "vertical"]
    assert isinstance(spec.variants, tuple) and spec.variants[1].changes == {"aspect_ratio": "9:16"}


@pytest.mark.parametrize("backend", ["animatic", "comfyui"])
def test_the_replicate_judge_is_refused_without_the_replicate_backend_saying_what_to_use(backend):
    found, message = errors({**BASE, "backend": backend, "qc": {"judge": "replicate"}})
    assert "qc.judge" in found and message.startswith("invalid spec s.yaml:")
    assert f"it needs backend: replicate, not {backend!r}" in found["qc.judge"]
    assert "use judge: local" in found["qc.judge"]
    judged = parse_spec({**BASE, "backend": "replicate", "qc": {"judge": "replicate"}})
    assert judged.qc is not None and judged.qc.judge == "replicate"


def test_beat_sync_is_accepted_with_your_own_track_and_refused_with_a_models_music_saying_why():
    assert not_built_errors(Spec.model_validate({**BASE, "music": {"file": "track.mp3", "sync": "beats"}})) == []
    found, _ = errors({**BASE, "music": {"sync": "beats"}, "backend": "replicate"})
    assert list(found) == ["music"]
    assert "the cuts are planned before the clips are made and paid for" in found["music"]
    assert "a model's music exists only after its call" in found["music"]


def test_a_field_error_keeps_a_users_own_key_in_its_path():
    """Union members pydantic names in a location (`MusicSpec`, `str`) are dropped from the path; a key the
    user chose (a reference named `Product`) is not one of them."""
    found, _ = errors({**BASE, "references": {"Product": {"image": ""}}})
    assert "references.Product.image" in found
