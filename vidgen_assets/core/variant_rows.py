"""Variants from CSV rows (`variants: {file: rows.csv}`). Pure: the file's bytes in, each row's
changes out, every problem a `FieldError` at `variants.file`.

The file is a table with a header row. One row below it is one variant:

- a `name` column (optional) names each variant (`<id>--<name>`); without one they are `v01`, `v02`, ...
  in row order, as a matrix's are;
- every other column is a spec field path: `cta`, `voice.voice`, `style.mood`, `aspect_ratio`,
  `beats[0].text` (or `beats.0.text`), `music.volume`, `references.product.describe`;
- an empty cell leaves that field as the spec has it; a row whose cells are all empty is skipped;
- a cell of a field that only takes text (`cta`, `beats[0].text`, `voice.voice`, `aspect_ratio`, ...) is
  that text as written (surrounding spaces dropped; `null` clears a field that may be absent); any other
  cell is read as a YAML 1.2 scalar: `24` a number, `0.5` a number, `true`/`false` a boolean (`voice:
  false` mutes), `null` nothing, `"quoted"` text, anything else text. A cell never holds a list or a
  mapping: set a mapping's fields one column each (`voice.voice`, `voice.speed`).

Rows are numbered as a spreadsheet numbers them: the header is row 1, the first variant row 2. The
file is UTF-8 (a byte-order mark, as Excel's "CSV UTF-8" writes, is fine), comma-separated (or `;` or tab,
when the header holds no comma).
"""

from __future__ import annotations

import csv
import io
import json
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from vidgen_assets.core.spec import (
    MAX_VARIANTS,
    VARIANT_FIELDS,
    VARIANT_NAME_PATTERN,
    FieldError,
    Spec,
)

FIELD = "variants.file"
MAX_BYTES = 1024 * 1024
NAME = "name"
_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*|[0-9]+)|\[([0-9]+)\]")
_TOP = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*")
_NAME = re.compile(VARIANT_NAME_PATTERN)
_NULL = re.compile(r"^(null|Null|NULL|~)$")
_BOOL = re.compile(r"^(true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")


@dataclass(frozen=True)
class Row:
    """One variant row: its name, its spreadsheet row number, its changes (nested like a variant's) and
    each changed top-level field's column (for naming a problem where it was written)."""

    name: str
    row: int
    changes: dict[str, Any]
    columns: dict[str, str]


def column_parts(column: str) -> list[str | int] | None:
    """`beats[0].text` -> ['beats', 0, 'text']; `voice.voice` -> ['voice', 'voice']; None when it is not a
    field path at all."""
    top = _TOP.match(column)
    if top is None:
        return None
    parts: list[str | int] = [top.group()]
    rest = column[top.end() :]
    while rest:
        found = _PART.match(rest)
        if found is None:
            return None
        key, index = found.groups()
        parts.append(int(index) if index is not None else int(key) if key.isdigit() else key)
        rest = rest[found.end() :]
    return parts


def _members(annotation: Any) -> list[Any]:
    """The types an annotation allows: `Annotated`, unions and `Optional` unwrapped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [t for arg in typing.get_args(annotation) for t in _members(arg)]
    return [annotation]


def _step(members: list[Any], part: str | int) -> list[Any]:
    """The types found one step down (a model's field, a mapping's value, a tuple's item)."""
    out: list[Any] = []
    for member in members:
        origin = typing.get_origin(member)
        if isinstance(part, str) and isinstance(member, type) and issubclass(member, BaseModel):
            field = member.model_fields.get(part)
            if field is not None:
                out += _members(field.annotation)
        elif isinstance(part, str) and origin is dict:
            out += _members(typing.get_args(member)[1])
        elif isinstance(part, int) and origin in (tuple, list):
            out += _members(typing.get_args(member)[0])
    return out


def leaf_types(parts: list[str | int]) -> list[Any]:
    """The types the spec allows at a field path (empty: no such field)."""
    members: list[Any] = [Spec]
    for part in parts:
        members = _step(members, part)
        if not members:
            return []
    return members


def _text_only(members: list[Any]) -> bool:
    """Whether a field takes text and nothing else (besides being absent)."""
    kinds = [m for m in members if m is not type(None)]
    if not kinds:
        return False
    for kind in kinds:
        literal = typing.get_origin(kind) is typing.Literal
        if not (kind is str or (literal and all(isinstance(a, str) for a in typing.get_args(kind)))):
            return False
    return True


def scalar(cell: str) -> Any:
    """A cell read as a YAML 1.2 (core schema) scalar: null, a boolean, an integer, a float, quoted text, or
    else the text itself (never a list or a mapping)."""
    text = cell.strip()
    if _NULL.match(text):
        return None
    if _BOOL.match(text):
        return text.lower() == "true"
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return text[1:-1]
        return value if isinstance(value, str) else text[1:-1]
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    return text


def cell_value(cell: str, leaf: list[Any]) -> Any:
    """A cell as its field takes it: the text of a field that only takes text (`null` clearing one that
    may be absent), else a YAML scalar (`scalar`)."""
    text = cell.strip()
    if _text_only(leaf):
        return None if _NULL.match(text) and type(None) in leaf else text
    return scalar(cell)


def _merge_into(target: dict[Any, Any], parts: list[str | int], value: Any) -> None:
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    if "," in header:
        return ","
    return next((d for d in (";", "\t") if d in header), ",")


def check_columns(header: list[str]) -> tuple[dict[int, list[str | int]], list[FieldError]]:
    """Column index -> field path parts, for every column but `name`; a problem per column that names no
    field, repeats, or overlaps another (`voice` and `voice.voice`)."""
    errors: list[FieldError] = []
    columns: dict[int, list[str | int]] = {}
    seen: dict[tuple[str | int, ...], str] = {}
    fields = ", ".join(sorted(VARIANT_FIELDS))
    for i, raw in enumerate(header):
        column = raw.strip()
        if column == NAME:
            if any(h.strip() == NAME for h in header[:i]):
                errors.append(FieldError(FIELD, f"column {i + 1} ({NAME!r}) repeats an earlier column"))
            continue
        if not column:
            errors.append(FieldError(FIELD, f"column {i + 1} has no name in the header row; name it or delete it"))
            continue
        parts = column_parts(column)
        where = f"column {column!r}"
        if parts is None:
            errors.append(FieldError(FIELD, f"{where} is not a field path (e.g. cta, voice.voice, beats[0].text)"))
            continue
        top = parts[0]
        if top not in VARIANT_FIELDS:
            errors.append(FieldError(FIELD, f"{where} names no field a variant changes ({NAME} or one of: {fields})"))
            continue
        if any(isinstance(p, int) for p in parts[1:]) and not (top == "beats" and isinstance(parts[1], int)):
            errors.append(FieldError(FIELD, f"{where}: only beats are changed by index (beats[0].text)"))
            continue
        if top == "beats" and (len(parts) < 3 or not isinstance(parts[1], int)):
            errors.append(FieldError(FIELD, f"{where}: a beat's field is changed by its index: beats[0].text"))
            continue
        if not leaf_types(parts):
            errors.append(FieldError(FIELD, f"{where} names no field of the spec (see README, The spec)"))
            continue
        key = tuple(parts)
        clash = next((other for k, other in seen.items() if k[: len(key)] == key or key[: len(k)] == k), None)
        if clash is not None:
            errors.append(FieldError(FIELD, f"{where} sets what column {clash!r} sets; keep one of them"))
            continue
        seen[key] = column
        columns[i] = parts
    return columns, errors


def read_rows(data: bytes, file: str) -> tuple[list[Row], list[FieldError]]:
    """The variant rows of a CSV file's bytes (named `file` in messages), or every problem found."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        at = f"byte {exc.start} ({data[exc.start : exc.start + 1]!r})"
        return [], [FieldError(FIELD, f"{file!r} is not UTF-8 text ({at}); save it as CSV UTF-8")]
    try:
        table = list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True))
    except csv.Error as exc:
        return [], [FieldError(FIELD, f"{file!r} is not a CSV file that can be read: {exc}")]
    if not table or not any(cell.strip() for cell in table[0]):
        return [], [FieldError(FIELD, f"{file!r} has no header row (the first row names the columns)")]
    header = table[0]
    columns, errors = check_columns(header)
    named = any(h.strip() == NAME for h in header)
    name_at = next((i for i, h in enumerate(header) if h.strip() == NAME), -1)
    rows: list[Row] = []
    used: dict[str, int] = {}
    kept = [(n, cells) for n, cells in enumerate(table[1:], start=2) if any(c.strip() for c in cells)]
    if len(kept) > MAX_VARIANTS:
        return [], [*errors, FieldError(FIELD, f"{file!r} has {len(kept)} rows of variants; at most {MAX_VARIANTS}")]
    if not kept:
        return [], [*errors, FieldError(FIELD, f"{file!r} has no rows below its header: give one row per variant")]
    for count, (n, cells) in enumerate(kept, start=1):
        if len(cells) > len(header):
            errors.append(FieldError(FIELD, f"row {n} has {len(cells)} cells; the header names {len(header)} columns"))
            continue
        name = f"v{count:02d}"
        if named:
            name = cells[name_at].strip() if name_at < len(cells) else ""
            if not name:
                errors.append(FieldError(f"{FIELD}: row {n}, column {NAME}", "empty; give every row a name, or "
                                         "leave the name column out for v01, v02, ..."))  # fmt: skip
                continue
            if not _NAME.match(name):
                rule = "1-31 characters of a-z, 0-9 and '-', starting with a letter or digit"
                errors.append(FieldError(f"{FIELD}: row {n}, column {NAME}", f"{name!r} is not a variant name: {rule}"))
                continue
            if name in used:
                errors.append(FieldError(f"{FIELD}: row {n}, column {NAME}", f"{name!r} is used twice (row "
                                         f"{used[name]} too); a name is unique"))  # fmt: skip
                continue
        used[name] = n
        changes: dict[str, Any] = {}
        where: dict[str, str] = {}
        for i, parts in columns.items():
            cell = cells[i] if i < len(cells) else ""
            if not cell.strip():
                continue
            _merge_into(changes, parts, cell_value(cell, leaf_types(parts)))
            top = str(parts[0])
            where[top] = f"{FIELD}: row {n}, column {top}"
        if not changes:
            errors.append(FieldError(f"{FIELD}: row {n}", "changes nothing: fill in the fields it changes"))
            continue
        rows.append(Row(name, n, changes, where))
    return rows, errors
