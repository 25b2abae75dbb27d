"""Variants from CSV rows (`variants: {file: rows.csv}`, `core.variant_rows`): rows become variants,
cells are read as the field wants them, every problem is named by row and column."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vidgen_assets.core.spec import SpecError, parse_spec
from vidgen_assets.core.variant_rows import scalar
from vidgen_assets.core.variants import describe_changes, expand, variant_changes

BEAT = {"name": "hero", "duration": 5, "prompt": "a bottle"}
BASE: dict[str, Any] = {
    "id": "ad",
    "prompt": "coffee",
    "duration": 10,
    "cta": "Order today",
    "voice": {"voice": "narrator", "speed": 1.2},
    "beats": [{**BEAT, "text": "Wake up"}, {**BEAT, "name": "pour"}],
    "variants": {"file": "rows.csv"},
}


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def problems(rows: bytes, data: dict[str, Any] | None = None) -> list[str]:
    with pytest.raises(SpecError) as caught:
        expand(data or BASE, "ad.yaml", rows)
    return [str(e) for e in caught.value.errors]


def test_each_row_is_a_variant_its_columns_field_paths_its_cells_read_as_the_field_wants() -> None:
    rows = csv_bytes(
        [
            ["name", "cta", "voice.voice", "beats[0].text", "aspect_ratio", "fps", "music", "duration"],
            ["b", "Try it free", "en-gb", "", "", "", "", ""],
            ["vertical", "", "", "", "9:16", "30", "false", ""],
            ["", "", "", "", "", "", "", ""],  # a blank row (a spreadsheet's trailing line) is skipped
            ["hook2", "2024", "", "Still paying: too much?", "", "", "", "12.5"],
        ]
    )
    found = expand(BASE, "ad.yaml", rows)
    assert [v.video_id for v in found.variants] == ["ad--b", "ad--vertical", "ad--hook2"]
    b, vertical, hook2 = (v.spec for v in found.variants)
    # A mapping's field merges into the spec's: the voice keeps its speed.
    assert b.cta == "Try it free" and b.voice is not None and (b.voice.voice, b.voice.speed) == ("en-gb", 1.2)
    assert b.aspect_ratio == "16:9" and b.fps == 24  # an empty cell leaves the field as the spec has it
    assert (vertical.size, vertical.fps, vertical.music, vertical.cta) == ((576, 1024), 30, None, "Order today")
    # A text field takes its cell as text (a number-looking CTA, a colon); a number field a number.
    assert hook2.cta == "2024" and hook2.duration == 12.5 and hook2.beats is not None
    assert [beat.text for beat in hook2.beats] == ["Still paying: too much?", None]
    changes = [describe_changes(v.changes.changes) for v in found.variants]
    assert changes == ["cta='Try it free', voice.voice='en-gb'", "aspect_ratio='9:16', fps=30, music=False",
                       "cta='2024', beats.0.text='Still paying: too much?', duration=12.5"]  # fmt: skip
    assert [v.changes.where for v in found.variants] == [f"variants.file: row {n}" for n in (2, 3, 5)]
    assert [c.name for c in variant_changes(found.base)] == ["b", "vertical", "hook2"]
    for variant in found.variants:
        assert "variants" not in variant.data and parse_spec(variant.data) == variant.spec


def test_without_a_name_column_rows_are_v01_v02_and_a_bom_and_semicolons_are_read() -> None:
    rows = "\ufeffcta;voice\nTry it free;false\nBuy now;\n".encode()
    found = expand(BASE, "ad.yaml", rows)
    assert [(v.video_id, v.spec.cta, v.spec.voice is None) for v in found.variants] == [
        ("ad--v01", "Try it free", True),
        ("ad--v02", "Buy now", False),
    ]


def test_bad_values_are_named_by_row_and_column_and_no_variant_is_made() -> None:
    rows = csv_bytes(
        [
            ["name", "cta", "voice.speed", "beats[0].camera", "beats[3].text", "fps"],
            ["ok", "fine", "", "", "", ""],
            ["fast", "", "9", "", "", ""],
            ["dolly", "", "", "dolly", "", ""],
            ["far", "", "", "", "x", ""],
            ["odd", "", "", "", "", "31"],
        ]
    )
    assert problems(rows) == [
        "variants.file: row 3, column voice.speed: Input should be less than or equal to 2 (got 9)",
        "variants.file: row 4, column beats[0].camera: got 'dolly'; allowed: 'push_in', 'pull_out', 'pan_left', "
        "'pan_right' or 'static'",
        "variants.file: row 5, column beats[3]: no beat 3; the spec has 2 (indices 0 to 1)",
        "variants.file: row 6, column fps: got 31; allowed: 24, 25 or 30",
    ]


def test_columns_naming_no_field_and_bad_names_are_field_errors() -> None:
    header = ["name", "cta", "colour", "voice.tone", "id", "beats.text", "style.palette[0]", "voice", "voice.voice"]
    rows = csv_bytes([header, ["B", "x", "", "", "", "", "", "", ""], ["b", "x"], ["b", "y"], ["c"]])
    found = problems(rows)
    assert (
        "variants.file: column 'colour' names no field a variant changes (name or one of: aspect_ratio, "
        in (found[0][: len("variants.file: column 'colour' names no field a variant changes (name or one of: ") + 14])
    )
    assert found[1] == "variants.file: column 'voice.tone' names no field of the spec (see README, The spec)"
    assert found[2].startswith("variants.file: column 'id' names no field a variant changes")
    assert found[3] == "variants.file: column 'beats.text': a beat's field is changed by its index: beats[0].text"
    assert found[4] == "variants.file: column 'style.palette[0]': only beats are changed by index (beats[0].text)"
    assert found[5] == "variants.file: column 'voice.voice' sets what column 'voice' sets; keep one of them"
    assert found[6].startswith("variants.file: row 2, column name: 'B' is not a variant name")
    assert found[7] == "variants.file: row 4, column name: 'b' is used twice (row 3 too); a name is unique"
    assert found[8] == "variants.file: row 5: changes nothing: fill in the fields it changes"


def test_a_file_that_is_not_utf8_or_has_too_many_rows_or_none() -> None:
    assert problems("cta\nCaf\xe9\n".encode("latin-1")) == [
        "variants.file: 'rows.csv' is not UTF-8 text (byte 7 (b'\\xe9')); save it as CSV UTF-8"
    ]
    many = csv_bytes([["cta"], *[[f"cta {n}"] for n in range(51)]])
    assert problems(many) == ["variants.file: 'rows.csv' has 51 rows of variants; at most 50"]
    assert len(expand(BASE, "ad.yaml", csv_bytes([["cta"], *[[f"cta {n}"] for n in range(50)]])).variants) == 50
    assert problems(b"cta\n") == ["variants.file: 'rows.csv' has no rows below its header: give one row per variant"]
    assert problems(b"") == ["variants.file: 'rows.csv' has no header row (the first row names the columns)"]
    assert problems(b"cta\nx,y\n") == ["variants.file: row 2 has 2 cells; the header names 1 columns"]


def test_a_spec_naming_a_file_not_read_says_so() -> None:
    assert problems(b"", None)[0].startswith("variants.file:")
    with pytest.raises(SpecError) as caught:
        expand(BASE, "ad.yaml")
    assert [str(e) for e in caught.value.errors] == [
        "variants.file: 'rows.csv' was not read (no folder to read it from)"
    ]


@pytest.mark.parametrize(
    ("cell", "value"),
    [("24", 24), ("-3", -3), ("0.5", 0.5), ("1e3", 1000.0), ("true", True), ("False", False), ("null", None),
     ("~", None), ('"24"', "24"), ("'it''s'", "it's"), ("yes", "yes"), ("no", "no"), ("1:20", "1:20"),
     ("[a, b]", "[a, b]"), ("a: b", "a: b"), ("  padded  ", "padded"), ("#c8a27a", "#c8a27a")],
)  # fmt: skip
def test_a_cell_is_a_yaml_1_2_scalar_never_a_list_or_mapping(cell: str, value: Any) -> None:
    assert scalar(cell) == value and type(scalar(cell)) is type(value)


CELL = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(CELL, st.sampled_from(["", "0.5", "1", "1.5", "3", "x"])), min_size=1, max_size=8))
def test_generated_rows_make_their_variants_or_errors_at_their_row(cells: list[tuple[str, str]]) -> None:
    """Any text in a text column is that text; a speed cell is a number in range (0.5..2), or an error
    naming its row and column, and never anything else."""
    rows = csv_bytes([["cta", "voice.speed"], *[list(c) for c in cells]])
    kept = [(n, cta, speed) for n, (cta, speed) in enumerate(cells, start=2) if cta.strip() or speed.strip()]
    bad_speed = {n for n, _, speed in kept if speed and speed not in ("0.5", "1", "1.5")}
    bad_cta = {n for n, cta, _ in kept if len(cta.strip()) > 200}
    want = [(n, cta, speed) for n, cta, speed in kept]
    if not kept:  # only blank rows
        assert problems(rows) == ["variants.file: 'rows.csv' has no rows below its header: give one row per variant"]
        return
    try:
        found = expand(BASE, "ad.yaml", rows)
    except SpecError as exc:
        paths = {e.path for e in exc.errors}
        assert paths, exc.errors
        assert all(p.startswith("variants.file: row ") for p in paths), exc.errors
        assert {int(p.split("row ")[1].split(",")[0]) for p in paths} == bad_speed | bad_cta
        return
    assert not (bad_speed or bad_cta) and len(found.variants) == len(want)
    for variant, (_, cta, speed) in zip(found.variants, want, strict=True):
        text = cta.strip()
        assert variant.spec.cta == (
            (None if text in ("null", "Null", "NULL", "~") else text) if text else "Order today"
        )
        assert variant.spec.voice is not None and variant.spec.voice.speed == (float(speed) if speed else 1.2)
