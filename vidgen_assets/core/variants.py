"""Variants: one spec, many videos (Version 3). Pure: data in, specs out.

A spec's `variants:` list (or `{matrix: {...}}`) names more videos made from the same spec. Each variant
is a whole spec of its own, made here from the spec's data as written:

- its id is `<id>--<name>` (a matrix's `<id>--v01`, `--v02`, ... in product order: the first field
  varies slowest), and it has no `variants` of its own;
- a field the variant sets replaces the base's, except that **a mapping merges into a mapping**, field by
  field and recursively (`voice: {voice: en-gb}` keeps the base's `speed` and `volume`; `style: {mood: x}`
  keeps its `aesthetic` and `palette`). Lists, strings, numbers, `false` and `null` replace. To drop a
  mapping's field, set it to `null` where the field allows it;
- `beats: {index: {fields}}` changes those beats' fields (merged the same way; indices from 0); `beats:
  [...]` (a list) replaces every beat.

Every variant's spec is validated with `parse_spec`, its errors named by where the variant set the field
(`variants[2].voice.voice: ...`, `variants[1].beats.4: no beat 4; the spec has 3`, a matrix's
`variants.matrix.cta[1]: ...`). One bad variant fails the whole set (`SpecError` listing every problem),
so a caller writes nothing for any of them.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from vidgen_assets.core.spec import (
    ID_PATTERN,
    VARIANT_SEPARATOR,
    FieldError,
    Spec,
    SpecError,
    VariantFile,
    VariantMatrix,
    parse_spec,
    spec_data,
)
from vidgen_assets.core.variant_rows import FIELD as ROWS_FIELD
from vidgen_assets.core.variant_rows import read_rows

_TOP = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class VariantChanges:
    """What one variant changes, as written, and where each of its fields was written."""

    name: str
    where: str
    """The variant in the spec: `variants[1]`, or `variants.matrix` for a matrix's."""
    changes: dict[str, Any]
    paths: dict[str, str]
    """Each changed field -> the path it was written at (`variants[1].cta`, `variants.matrix.cta[0]`,
    `variants.file: row 3, column voice`)."""
    from_rows: bool = False
    """Read from a CSV file's row: a beat's column is named as written there (`beats[0].text`)."""


@dataclass(frozen=True)
class VariantVideo:
    """One variant made whole: its spec (id `<id>--<name>`), the data it was validated from, its changes."""

    name: str
    spec: Spec
    data: dict[str, Any]
    changes: VariantChanges

    @property
    def video_id(self) -> str:
        return self.spec.id

    def source_text(self, base_source: str = "") -> str:
        """The variant's whole spec as YAML: what is stored as its `spec.source.yaml` and what a run is
        configured with."""
        head = f"# variant {self.name!r} of {self.data['id'].rsplit(VARIANT_SEPARATOR, 1)[0]!r}"
        head += f" ({base_source}); changes: {describe_changes(self.changes.changes)}\n"
        return head + yaml.safe_dump(self.data, sort_keys=False, allow_unicode=True)


@dataclass(frozen=True)
class SpecSet:
    """A spec and its variants, every one validated."""

    base: Spec
    variants: tuple[VariantVideo, ...]

    def placed(self, video_id: str, errors: list[FieldError]) -> list[FieldError]:
        """Errors found later in one video's whole spec (a voice this machine lacks, say), named where
        the variant wrote the field; the base's as they are."""
        for variant in self.variants:
            if variant.video_id == video_id:
                return [_placed(e, variant.changes, video_id) for e in errors]
        return errors

    def members(self, base_text: str, source: str = "") -> Iterator[tuple[Spec, str]]:
        """(spec, its text) for the base (as written) and each variant (`VariantVideo.source_text`)."""
        yield self.base, base_text
        for variant in self.variants:
            yield variant.spec, variant.source_text(source)


def variant_changes(spec: Spec) -> list[VariantChanges]:
    """Each variant's changes, in order (a matrix's combinations in product order)."""
    if spec.variants is None:
        return []
    if isinstance(spec.variants, VariantFile):
        return list(spec.variants.rows)
    if isinstance(spec.variants, VariantMatrix):
        fields = list(spec.variants.matrix)
        indexed = [list(enumerate(spec.variants.matrix[f])) for f in fields]
        out = []
        for n, combination in enumerate(itertools.product(*indexed), start=1):
            changes = {f: copy.deepcopy(value) for f, (_, value) in zip(fields, combination, strict=True)}
            paths = {f: f"variants.matrix.{f}[{k}]" for f, (k, _) in zip(fields, combination, strict=True)}
            out.append(VariantChanges(f"v{n:02d}", "variants.matrix", changes, paths))
        return out
    return [
        VariantChanges(v.name, f"variants[{i}]", copy.deepcopy(v.changes), {f: f"variants[{i}].{f}" for f in v.changes})
        for i, v in enumerate(spec.variants)
    ]


def merged(old: Any, new: Any) -> Any:
    """`new` over `old`: mappings merge key by key (recursively); anything else replaces."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = dict(old)
        for key, value in new.items():
            out[key] = merged(old.get(key), value)
        return out
    return copy.deepcopy(new)


def _beat_index(key: Any) -> int | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key
    if isinstance(key, str) and key.strip().isdigit():
        return int(key.strip())
    return None


def apply_changes(
    base: dict[str, Any], variant: VariantChanges, video_id: str
) -> tuple[dict[str, Any], list[FieldError]]:
    """The variant's whole spec data (id `video_id`, no `variants`), and the problems with its `beats`
    changes (an index the spec has no beat at, a change that is not a mapping)."""
    data = {k: copy.deepcopy(v) for k, v in base.items() if k not in ("id", "variants")}
    errors: list[FieldError] = []
    for field, value in variant.changes.items():
        if field == "beats" and isinstance(value, dict):
            beats = data.get("beats")
            path = variant.paths[field]
            if not isinstance(beats, list):
                errors.append(FieldError(path, "the spec has no beats to change (the planner makes them); give "
                                         "beats as a list to set them all"))  # fmt: skip
                continue
            beats = list(beats)
            for key, fields in value.items():
                at = f"{path}[{key}]" if variant.from_rows else f"{path}.{key}"  # as the CSV's column has it
                index = _beat_index(key)
                if index is None:
                    errors.append(FieldError(at, f"a beat is changed by its index, 0 to {len(beats) - 1}; "
                                             f"got {key!r}"))  # fmt: skip
                elif index >= len(beats):
                    errors.append(FieldError(at, f"no beat {index}; the spec has {len(beats)} "
                                             f"(indices 0 to {len(beats) - 1})"))  # fmt: skip
                elif not isinstance(fields, dict):
                    errors.append(FieldError(at, "a beat's changes are a mapping of its fields "
                                             f"({{text: ..., prompt: ...}}), got {type(fields).__name__}"))  # fmt: skip
                else:
                    beats[index] = merged(beats[index], fields)
            data["beats"] = beats
        else:
            data[field] = merged(data.get(field), value)
    return {"id": video_id, **data}, errors


def _placed(error: FieldError, variant: VariantChanges, video_id: str) -> FieldError:
    """A variant's spec error, named where the variant wrote the field (else at the variant, saying so)."""
    found = _TOP.match(error.path)
    top = found.group() if found else ""
    if top in variant.paths:
        rest = error.path[len(top) :]
        if top == "beats" and isinstance(variant.changes.get("beats"), dict) and not variant.from_rows:
            rest = re.sub(r"^\[(\d+)\]", r".\1", rest)
        return FieldError(variant.paths[top] + rest, error.message)
    return FieldError(variant.where, f"{video_id}: {error.path}: {error.message} (with this variant's changes)")


def rows_file(data: Any) -> str | None:
    """The CSV file a spec's data names (`variants: {file: rows.csv}`), if any, before it is validated."""
    variants = data.get("variants") if isinstance(data, dict) else None
    file = variants.get("file") if isinstance(variants, dict) else None
    return file if isinstance(file, str) and file.strip() else None


def with_rows(base: Spec, rows: bytes | None, source: str) -> Spec:
    """The spec with the variants of its CSV file (`variants: {file: ...}`) read from the file's bytes;
    as it is for any other spec. `SpecError` for every problem with the file's rows."""
    if not isinstance(base.variants, VariantFile):
        return base
    if rows is None:
        raise SpecError(
            source, [FieldError(ROWS_FIELD, f"{base.variants.file!r} was not read (no folder to read it from)")]
        )
    found, errors = read_rows(rows, base.variants.file)
    for row in found:
        video = f"{base.id}{VARIANT_SEPARATOR}{row.name}"
        if not re.match(ID_PATTERN, video):
            errors.append(FieldError(f"{ROWS_FIELD}: row {row.row}, column name", f"variant id {video!r} is longer "
                                     "than 63 characters; shorten id or name"))  # fmt: skip
    if errors:
        raise SpecError(source, errors)
    changes = tuple(
        VariantChanges(row.name, f"{ROWS_FIELD}: row {row.row}", row.changes, row.columns, from_rows=True)
        for row in found
    )
    return base.model_copy(update={"variants": base.variants.with_rows(changes)})


def expand(data: dict[str, Any], source: str = "<spec>", rows: bytes | None = None) -> SpecSet:
    """The spec (`data`, as parsed from its file, with its id) and every variant's whole spec, each
    validated; `rows`: the bytes of the CSV file it names (`variants: {file: ...}`). Raise `SpecError`
    listing every problem of the spec or of any variant."""
    base = with_rows(parse_spec(data, source), rows, source)
    errors: list[FieldError] = []
    videos = []
    for variant in variant_changes(base):
        video_id = f"{base.id}{VARIANT_SEPARATOR}{variant.name}"
        whole, problems = apply_changes(data, variant, video_id)
        errors += problems
        try:  # validated even with bad beat indices: every other problem is reported too
            made = VariantVideo(variant.name, parse_spec(whole, source), whole, variant)
        except SpecError as exc:
            errors += [_placed(e, variant, video_id) for e in exc.errors]
            continue
        if not problems:
            videos.append(made)
    if errors:
        raise SpecError(source, list(dict.fromkeys(errors)))  # a matrix's bad value is bad in every combination
    return SpecSet(base, tuple(videos))


def read_spec_set(text: str, source: str, default_id: str | None = None, rows: bytes | None = None) -> SpecSet:
    """`expand` over a spec file's text (YAML or JSON); `rows`: the bytes of its variants' CSV file."""
    data = spec_data(text, source, default_id)
    if not isinstance(data, dict):
        parse_spec(data, source)  # raises: a spec is a mapping
    try:
        return expand(data, source, rows)
    except RecursionError:
        raise SpecError(source, [FieldError("(file)", "nested too deeply to be a spec")]) from None


def _flat(value: Any, prefix: str) -> list[str]:
    if isinstance(value, dict) and value:
        return [line for k, v in value.items() for line in _flat(v, f"{prefix}.{k}" if prefix else str(k))]
    return [f"{prefix}={value!r}"]


def describe_changes(changes: dict[str, Any]) -> str:
    """What a variant changes, one dotted field each: `cta='Try it free', voice.voice='en-gb', beats.0.text=...`."""
    return ", ".join(_flat(changes, ""))
