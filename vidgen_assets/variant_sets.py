"""A spec file and its variants as the CLI and the sensor use them: read the file, expand its variants
(`core.variants`), describe a variant and a set's cost. Every variant is a video of its own; this module
only reads and describes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from vidgen_assets.available import check_available
from vidgen_assets.core.cost import Estimate, Price, usd
from vidgen_assets.core.fingerprint import digest_bytes
from vidgen_assets.core.plan import Plan, seconds
from vidgen_assets.core.spec import VARIANT_SEPARATOR, FieldError, Spec, SpecError, id_from_filename, spec_data
from vidgen_assets.core.variant_rows import FIELD as ROWS_FIELD
from vidgen_assets.core.variant_rows import MAX_BYTES as MAX_ROWS_BYTES
from vidgen_assets.core.variants import (
    SpecSet,
    VariantChanges,
    describe_changes,
    read_spec_set,
    rows_file,
    variant_changes,
)
from vidgen_assets.references import Reader, local_reader, read_beside
from vidgen_assets.set_estimate import set_estimate, shared_with


def read_set(
    text: str, source: str, default_id: str | None, folder: Path | None, read: Reader
) -> tuple[SpecSet, str | None]:
    """A spec file's text and its variants (`core.variants.read_spec_set`), the CSV file of its rows
    (`variants: {file: rows.csv}`) read beside it with `read` (which must allow `MAX_ROWS_BYTES`); with
    the sha256 of that file's bytes (None without one): a changed CSV is a changed set."""
    wanted = rows_file(spec_data(text, source, default_id))
    rows = None
    if wanted is not None:
        rows, problem = read_beside(wanted, ROWS_FIELD, folder, read, "CSV file")
        if rows is None:
            raise SpecError(source, [problem] if problem else [])
    found = read_spec_set(text, source, default_id, rows)
    return found, (digest_bytes(rows) if rows is not None else None)


def load_set(path: Path) -> SpecSet:
    """The spec file at `path` and its variants (with its CSV rows read beside it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(str(path), [FieldError("(file)", f"cannot read: {exc}")]) from None
    folder = path.absolute().parent
    return read_set(text, str(path), id_from_filename(path), folder, local_reader(folder, MAX_ROWS_BYTES))[0]


def load_members(path: Path) -> list[tuple[Spec, str]]:
    """The spec in `path` (with its text as written), then each of its variants (with its whole spec as
    YAML). Raise `SpecError` naming the file and every problem of the spec or any variant."""
    found = load_set(path)
    return checked_members(found, path.read_text(encoding="utf-8"), str(path))


def checked_members(found: SpecSet, text: str, source: str) -> list[tuple[Spec, str]]:
    """`found`'s videos (spec, text), each checked for what this machine must have (`check_available`),
    a variant's problems named where it wrote the field. `SpecError` listing every problem."""
    members = list(found.members(text, Path(source).name))
    errors: list[FieldError] = []
    for spec, _ in members:
        try:
            check_available(spec, source)
        except SpecError as exc:
            errors += found.placed(spec.id, exc.errors)
    if errors:
        raise SpecError(source, errors)
    return members


def variant_index(specs: Iterable[Spec]) -> dict[str, VariantChanges]:
    """Variant video id -> what the variant changes, for every spec with `variants`."""
    return {f"{spec.id}{VARIANT_SEPARATOR}{v.name}": v for spec in specs for v in variant_changes(spec)}


def describe_variant(plan: Plan, variant: VariantChanges, base: Plan | None = None) -> str:
    """A variant as `vidgen validate` shows it: what it changes, its plan line, what it shares with the
    spec (`base`'s plan, when given), its warnings."""
    fps = plan.fps
    spec = plan.spec
    lines = [
        f"variant {spec.id} ({variant.where}): changes {describe_changes(variant.changes)}",
        f"  video {spec.id}: {seconds(plan.total_frames, fps)} ({plan.total_frames} frames) at "
        f"{plan.width}x{plan.height} {fps} fps, {spec.aspect_ratio}, backend {spec.backend}, "
        f"{len(plan.beats)} beat(s), {len(plan.chunks)} chunk(s)"
        + (f", cta {spec.cta!r}" if spec.cta else "")
        + f"; warnings: {len(plan.warnings)}",
    ]
    if base is not None:
        lines.append(describe_shared(base, plan))
    return "\n".join(lines + [f"    - {w}" for w in plan.warnings])


def describe_shared(base: Plan, plan: Plan) -> str:
    """What a variant shares with its spec: per stage, how many of its calls have the spec's very inputs."""
    try:
        found = shared_with(base, plan)
    except SpecError:  # a model that cannot do what the spec asks: said where the spec is checked
        return "  shares with the spec: not worked out (see the spec's models)"
    parts = ", ".join(f"{same}/{total} {stage}" for stage, (same, total) in found.items())
    paid = "made and paid once" if plan.spec.backend == "replicate" else "the same files, drawn again locally"
    return f"  shares with the spec (the very same inputs: {paid}): {parts or 'nothing'}"


def describe_set(spec: Spec) -> str:
    """The line under a spec's plan naming its variants' videos."""
    ids = [f"{spec.id}{VARIANT_SEPARATOR}{v.name}" for v in variant_changes(spec)]
    return f"variants: {len(ids)} more video(s): {', '.join(ids)}"


def set_total(base: Spec, members: Sequence[tuple[Plan, Estimate]], prices: Mapping[str, Price]) -> str:
    """A set's cost as `vidgen estimate` shows it: the sum over its videos, the calls that are another
    video's very request (answered by the generation cache, paid once: `set_estimate`) and what is left."""
    mine = _set_of(base, members)
    found = set_estimate(mine, prices)
    shared = ", ".join(f"{n} {stage}" for stage, n in found.shared.items() if n) or "none"
    return (
        f"set {base.id} ({len(mine)} videos: the spec and {len(mine) - 1} variant(s)): {found.calls} calls, "
        f"{usd(found.summed)} summed over the videos; shared with an earlier video (paid once): {shared}, "
        f"{usd(found.saved)}; the set: {usd(found.total)} (bridges counted in full)"
    )


def _set_of(base: Spec, members: Sequence[tuple[Plan, Estimate]]) -> list[tuple[Plan, Estimate]]:
    prefix = f"{base.id}{VARIANT_SEPARATOR}"
    return [(plan, est) for plan, est in members if plan.spec.id == base.id or plan.spec.id.startswith(prefix)]


def set_budget(base: Spec, members: Sequence[tuple[Plan, Estimate]], prices: Mapping[str, Price]) -> str | None:
    """How the set stands against the spec's `budget_usd`, which applies to the whole set (its shared calls
    counted once): the line `vidgen estimate` prints; None without a budget."""
    if base.budget_usd is None or base.variants is None:
        return None
    found = set_estimate(_set_of(base, members), prices)
    budget = Decimal(str(base.budget_usd))
    verdict = "within budget" if found.total <= budget else "OVER BUDGET: render would refuse the set"
    return f"budget_usd {usd(budget)} for the set {base.id} ({usd(found.total)}): {verdict}"


def set_refusal(base: Spec, members: Sequence[tuple[Plan, Estimate]], prices: Mapping[str, Price]) -> str | None:
    """The refusal when the set's estimate (shared calls counted once) is above the spec's `budget_usd`."""
    if base.budget_usd is None or base.variants is None:
        return None
    mine = _set_of(base, members)
    found = set_estimate(mine, prices)
    budget = Decimal(str(base.budget_usd))
    if found.total <= budget:
        return None
    return (
        f"set {base.id!r} ({len(mine)} videos): the estimated cost of the set {usd(found.total)} (shared calls "
        f"counted once) is above budget_usd {usd(budget)}, which applies to the whole set; nothing was generated. "
        "Raise budget_usd, drop variants or choose cheaper models (see `vidgen estimate`)."
    )
