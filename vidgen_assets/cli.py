"""`vidgen`: validate and render specs from the command line.

Exit codes: 0 success, 2 invalid spec, usage or a budget below the estimate, 1 a failed run. Messages say
what failed and where.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import warnings
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from vidgen_assets.backends.models import chunk_seconds_for, estimate_plan, load_prices
from vidgen_assets.backends.voices import check_voice, line_lengths
from vidgen_assets.core.cost import Estimate, budget_refusal, usd
from vidgen_assets.core.plan import Plan, seconds
from vidgen_assets.core.planner import plan_spec
from vidgen_assets.core.spec import Spec, SpecError, load_spec
from vidgen_assets.settings import DATA_ENV, Settings, SettingsError

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def describe_plan(plan: Plan, source: str) -> str:
    """The plan as a person reads it: beats with times, chunks, pairs, transitions, warnings."""
    spec = plan.spec
    fps = plan.fps
    lines = [
        f"{source}: valid",
        f"video {spec.id}: {seconds(plan.total_frames, fps)} ({plan.total_frames} frames) "
        f"at {plan.width}x{plan.height} {fps} fps, {spec.aspect_ratio}, backend {spec.backend}, "
        f"beats from {plan.planner}",
        f"{len(plan.beats)} beat(s), {len(plan.chunks)} chunk(s) of up to {seconds(plan.chunk_frames, fps)}, "
        f"{len(plan.beats)} chunk pair(s)",
        "",
        f"{'pair':<5} {'beat':<20} {'start':>8} {'end':>8} {'camera':<9} {'chunks':<28} {'transition out':<18} text",
    ]
    for beat in plan.beats:
        chunks = " + ".join(f"{'ref' if c.kind == 'reference' else 'cont'}:{c.frames}f" for c in beat.chunks)
        transition = f"{beat.transition} {seconds(beat.transition_frames, fps)}" if beat.transition_frames else "cut"
        if beat.index == len(plan.beats) - 1:
            transition = "-"
        start, end = seconds(beat.start_frame, fps), seconds(beat.end_frame, fps)
        lines.append(
            f"{beat.pair_key:<5} {beat.name[:20]:<20} {start:>8} {end:>8} {beat.camera:<9} {chunks:<28} "
            f"{transition:<18} {beat.text or ''}"
        )
    if spec.cta:
        lines.append(f"cta over the last beat: {spec.cta}")
    music = spec.music
    lines.append(f"music: {f'{spec.music_mood}, {music.bpm} bpm, volume {music.volume:g}' if music else 'off'}")
    lines += describe_voice(plan)
    lines += ["", f"warnings: {len(plan.warnings)}"] + [f"  - {w}" for w in plan.warnings]
    return "\n".join(lines)


def describe_voice(plan: Plan) -> list[str]:
    """The voiceover lines with their spoken length (measured or estimated) against their beats."""
    spec = plan.spec
    if not plan.voice_lines:
        return []
    if spec.voice is None:
        return [f"voice: off (voice: false); subtitles: {spec.subtitle_mode}"]
    fps = plan.fps
    out = [
        f"voice: {spec.voice.voice}, speed {spec.voice.speed:g}, volume {spec.voice.volume:g}; "
        f"subtitles: {spec.subtitle_mode}",
        f"{'line':<8} {'beat':<20} {'from':>8} {'room':>8} {'spoken':>16} {'fit':<10} text",
    ]
    for found in line_lengths(plan):
        line = found.line
        beat = plan.beats[line.beat_index]
        spoken = f"{found.spoken_s:.2f} s {'measured' if found.measured else 'estimated'}"
        fit = "NO" if found.tempo is None else ("ok" if found.tempo == 1 else f"x{found.tempo:.3f}")
        text = " ".join(line.text.split())
        out.append(
            f"{line.key:<8} {beat.name[:20]:<20} {seconds(line.start_frame, fps):>8} {found.room_s:>6.2f} s "
            f"{spoken:>16} {fit:<10} {text[:60]}{'...' if len(text) > 60 else ''}"
        )
        if found.warning:
            out.append(f"  warning: {found.warning}")
    return out


def _load(paths: Sequence[str]) -> list[tuple[Spec, str, Path]] | None:
    """Load every spec; print every error. None when any is invalid (nothing is rendered then)."""
    loaded = []
    ok = True
    ids: dict[str, Path] = {}
    for name in paths:
        path = Path(name)
        try:
            spec = check_voice(load_spec(path), str(path))
        except SpecError as exc:
            _err(str(exc))
            ok = False
            continue
        if spec.id in ids:
            _err(f"invalid spec {path}:\n  id: {spec.id!r} is also the id of {ids[spec.id]}; ids must be unique")
            ok = False
            continue
        ids[spec.id] = path
        loaded.append((spec, path.read_text(encoding="utf-8"), path))
    return loaded if ok else None


def cmd_validate(args: argparse.Namespace) -> int:
    specs = _load(args.specs)
    if specs is None:
        return EXIT_INVALID
    for spec, _, path in specs:
        try:
            plan = plan_spec(spec, chunk_seconds_for(spec, Settings.from_env().chunk_seconds))
        except (ValueError, SettingsError) as exc:
            _err(f"invalid spec {path}: {exc}")
            return EXIT_INVALID
        print(describe_plan(plan, str(path)))
    return EXIT_OK


def _estimates(specs: list[tuple[Spec, str, Path]]) -> list[tuple[Spec, Path, Estimate]] | None:
    """Each spec's estimate (no network: plans and prices only); None after printing any problem."""
    out = []
    try:
        default_chunk = Settings.from_env().chunk_seconds
        prices = load_prices()
    except (ValueError, SettingsError) as exc:
        _err(f"settings: {exc}")
        return None
    for spec, _, path in specs:
        try:
            plan = plan_spec(spec, chunk_seconds_for(spec, default_chunk))
            out.append((spec, path, estimate_plan(plan, prices)))
        except ValueError as exc:
            _err(f"invalid spec {path}:\n  {exc}")
            return None
    return out


def cmd_estimate(args: argparse.Namespace) -> int:
    specs = _load(args.specs)
    if specs is None:
        return EXIT_INVALID
    found = _estimates(specs)
    if found is None:
        return EXIT_INVALID
    for spec, path, estimate in found:
        print(f"{path}: video {spec.id}, backend {spec.backend}")
        print(estimate.table())
        if spec.budget_usd is not None:
            refusal = budget_refusal(spec.budget_usd, estimate)
            verdict = "OVER BUDGET: render would refuse it" if refusal else "within budget"
            print(f"budget_usd {usd(Decimal(str(spec.budget_usd)))}: {verdict}")
        print()
    return EXIT_OK


def cmd_render(args: argparse.Namespace) -> int:
    specs = _load(args.specs)
    if specs is None:
        return EXIT_INVALID
    env = dict(os.environ)
    if args.data_dir:
        env[DATA_ENV] = args.data_dir
    try:
        settings = Settings.from_env(env)
    except SettingsError as exc:
        _err(f"settings: {exc}")
        return EXIT_INVALID
    if args.max_parallel:
        settings = dataclasses.replace(settings, max_parallel_pairs=args.max_parallel)

    from vidgen_assets.backends import BackendUnavailable, get_backend

    for spec, _, path in specs:
        try:
            get_backend(spec.backend, settings.chunk_seconds, spec.models)
        except BackendUnavailable as exc:
            _err(f"invalid spec {path}:\n  backend: {exc}")
            return EXIT_INVALID
    # Budgets are checked for every spec before anything is generated (and so before anything is paid).
    estimates = _estimates(specs)
    if estimates is None:
        return EXIT_INVALID
    refusals = [r for spec, _, est in estimates if (r := budget_refusal(spec.budget_usd, est)) is not None]
    if refusals:
        for refusal in refusals:
            _err(f"refused: {refusal}")
        return EXIT_INVALID

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from vidgen_assets.runner import RenderFailed, Runner, dagster_home

        home = dagster_home(Path(args.dagster_home) if args.dagster_home else None)
        print(f"data dir: {settings.data_dir}\ndagster instance: {home}")
        failed = 0
        with Runner(settings, home, keep_workers=len(specs) > 1) as runner:
            for spec, text, path in specs:
                try:
                    report = runner.render(spec, text)
                except RenderFailed as exc:
                    _err(f"render of {path} failed: {exc}")
                    failed += 1
                    continue
                split = ", ".join(f"{name} {s:.1f} s" for name, s in report.stages_s.items())
                cost = usd(Decimal(str(report.cost_usd)))
                print(f"[{spec.id}] done in {report.wall_s:.1f} s ({split}); cost {cost}")
                for warning in report.warnings:
                    print(f"[{spec.id}] warning: {warning}")
                print(report.final_uri)
    return EXIT_FAILED if failed else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vidgen", description="Turn video specs into finished MP4s with Dagster.")
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="print the plan of each spec, or its field errors")
    validate.add_argument("specs", nargs="+", metavar="SPEC")
    validate.set_defaults(func=cmd_validate)
    render = sub.add_parser("render", help="render specs; each ends in DIR/videos/<id>/final.mp4")
    render.add_argument("specs", nargs="+", metavar="SPEC")
    render.add_argument("--data-dir", help=f"artifact root (default ${DATA_ENV} or ./vidgen_data)")
    render.add_argument("--dagster-home", help="Dagster instance dir (default $DAGSTER_HOME or ./.dagster_home)")
    render.add_argument("--max-parallel", type=int, help="chunk pairs rendered at once (default 4)")
    render.set_defaults(func=cmd_render)
    estimate = sub.add_parser("estimate", help="print what rendering each spec costs: per stage, model, calls")
    estimate.add_argument("specs", nargs="+", metavar="SPEC")
    estimate.set_defaults(func=cmd_estimate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
