"""`vidgen`: validate and render specs from the command line.

Exit codes: 0 success, 2 invalid spec, usage or a budget below the estimate, 1 a failed run. Messages say
what failed and where.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import warnings
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from vidgen_assets.backends.estimate import estimate_plan
from vidgen_assets.backends.prices import load_prices
from vidgen_assets.backends.registry import BRIDGE_DEFAULTS, DEFAULTS, REGISTRY, STAGE_KINDS, ReplicateModel
from vidgen_assets.backends.selection import chunk_seconds_for, spec_models
from vidgen_assets.backends.voices import line_lengths
from vidgen_assets.comfy_workflows import LoadedWorkflow, describe_workflows, read_local_workflows
from vidgen_assets.core.cost import Estimate, Price, budget_refusal, retake_allowance, usd
from vidgen_assets.core.plan import Plan, seconds
from vidgen_assets.core.planner import plan_spec
from vidgen_assets.core.spec import VARIANT_SEPARATOR, Spec, SpecError
from vidgen_assets.core.takes import spec_retakes
from vidgen_assets.music_file import LoadedMusic, read_local_music
from vidgen_assets.references import LoadedReference, read_local_references, with_references
from vidgen_assets.settings import DATA_ENV, HOME_ENV, PRICES_ENV, Settings, SettingsError
from vidgen_assets.storage import layout
from vidgen_assets.variant_page import members_of, set_text, store_set, write_page
from vidgen_assets.variant_sets import (
    describe_set,
    describe_variant,
    load_members,
    set_budget,
    set_refusal,
    set_total,
    variant_index,
)

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
    uses = bool(spec.references)
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
        if uses:
            lines.append(f"{'':<5} uses: {', '.join(beat.uses) or 'no references'}")
    for bridge in plan.bridges:
        a, b = plan.beats[bridge.from_beat], plan.beats[bridge.to_beat]
        lines.append(
            f"bridge {bridge.key}: {a.name} -> {b.name}, a generated {seconds(bridge.frames, fps)} shot from "
            f"{seconds(bridge.start_frame, fps)} ({bridge.frames} frames, the first of {b.name})"
        )
    if spec.cta:
        lines.append(f"cta over the last beat: {spec.cta}")
    music = spec.music
    if music is not None and music.file is not None:
        track = plan.music_track
        found = f"{track.seconds:.1f} s, sha256 {track.sha256[:12]}" if track else "not read"
        if track is not None and track.beats:
            tempo = f", about {track.tempo_bpm:g} bpm" if track.tempo_bpm else ""
            found += f", {len(track.beats)} beats tracked from {track.beats[0]:.3f} s{tempo}"
        sync = ", cuts on its beats" if music.sync else ""
        lines.append(f"music: your track {music.file} ({found}), volume {music.volume:g}{sync}")
    else:
        lines.append(f"music: {f'{spec.music_mood}, {music.bpm} bpm, volume {music.volume:g}' if music else 'off'}")
    music_sync = plan.music_sync
    if music_sync is not None:
        moves = (f"{seconds(m.old_frame, fps)} -> {seconds(m.new_frame, fps)}" for m in music_sync.moves)
        moved = ", ".join(moves) or "none"
        grid = f"{music_sync.grid_s[0]:.3f} s to {music_sync.grid_s[-1]:.3f} s" if music_sync.grid_s else "none"
        lines.append(
            f"beat grid: {len(music_sync.grid_s)} beats of the music in the video ({grid}, "
            f"{'tracked in your track' if music_sync.source == 'tracked' else 'the bed: every 60/bpm s'}); "
            f"boundaries moved onto it: {moved}"
        )
    lines += describe_references(plan)
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


Loaded = tuple[Spec, str, Path, tuple[LoadedReference, ...], tuple[LoadedWorkflow, ...], LoadedMusic | None]
"""A spec, its text, its file, its reference images and its ComfyUI workflows (read and checked)."""


def describe_references(plan: Plan) -> list[str]:
    """One line per reference: its file, size, alpha, hash and words, and the beats that show it."""
    if not plan.spec.references:
        return []
    lines = [f"references: {len(plan.spec.references)}"]
    for name, ref in plan.spec.references.items():
        beats = [b.pair_key for b in plan.beats if name in b.uses] or ["none"]
        stored = plan.reference(name)
        found = (
            f"{stored.width}x{stored.height}{', alpha' if stored.has_alpha else ''}, sha256 {stored.sha256[:12]}"
            if stored is not None
            else "not read"
        )
        words = f', "{ref.describe}"' if ref.describe else ""
        lines.append(f"  {name}: {ref.image} ({found}){words}; used by {', '.join(beats)}")
    return lines


def _load(paths: Sequence[str]) -> list[Loaded] | None:
    """Load every spec and its reference images; print every error. None when any is invalid (nothing is
    rendered then)."""
    loaded = []
    ok = True
    ids: dict[str, Path] = {}
    for name in paths:
        path = Path(name)
        try:
            members = load_members(path)  # the spec, then each of its variants, checked (`check_available`)
        except SpecError as exc:
            _err(str(exc))
            ok = False
            continue
        for spec, text in members:
            try:
                references = read_local_references(spec, path)
                workflows = read_local_workflows(spec, path)
                track = read_local_music(spec, path)
            except SpecError as exc:
                _err(str(exc))
                ok = False
                continue
            if spec.id in ids:
                _err(f"invalid spec {path}:\n  id: {spec.id!r} is also the id of {ids[spec.id]}; ids must be unique")
                ok = False
                continue
            ids[spec.id] = path
            loaded.append((spec, text, path, references, workflows, track))
    return loaded if ok else None


def cmd_validate(args: argparse.Namespace) -> int:
    specs = _load(args.specs)
    if specs is None:
        return EXIT_INVALID
    try:
        default_chunk = Settings.from_env().chunk_seconds
    except SettingsError as exc:
        _err(f"settings: {exc}")
        return EXIT_INVALID
    variants = variant_index(spec for spec, *_ in specs)
    plans: dict[str, Plan] = {}
    for spec, _, path, references, workflows, track in specs:
        try:
            plan = plan_spec(
                spec, chunk_seconds_for(spec, default_chunk, workflows), music_track=track.planned if track else None
            )
            plan = with_references(plan, (r.planned for r in references))
        except SpecError as exc:
            _err(str(SpecError(str(path), exc.errors)))
            return EXIT_INVALID
        except ValueError as exc:
            _err(f"invalid spec {path}: {exc}")
            return EXIT_INVALID
        plans[spec.id] = plan
        if spec.id in variants:
            base = spec.id.rsplit(VARIANT_SEPARATOR, 1)[0]
            print(describe_variant(plan, variants[spec.id], plans.get(base)))
            continue
        print(describe_plan(plan, str(path)))
        if spec.variants is not None:
            print(describe_set(spec))
        if workflows:
            print("\n".join(["comfyui workflows:", *describe_workflows(workflows)]))
    return EXIT_OK


def _estimates(specs: list[Loaded], settings: Settings | None = None) -> list[tuple[Spec, Path, Estimate, Plan]] | None:
    """Each spec's estimate and plan (no network: plans and prices only); None after printing any problem."""
    out = []
    try:
        settings = settings or Settings.from_env()
        default_chunk = settings.chunk_seconds
        prices = load_prices(settings.prices)
    except (ValueError, SettingsError) as exc:
        _err(f"settings: {exc}")
        return None
    for spec, _, path, references, workflows, track in specs:
        try:
            plan = plan_spec(
                spec, chunk_seconds_for(spec, default_chunk, workflows), music_track=track.planned if track else None
            )
            plan = with_references(plan, (r.planned for r in references))
            out.append((spec, path, estimate_plan(plan, prices), plan))
        except SpecError as exc:
            _err(str(SpecError(str(path), exc.errors)))
            return None
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
    for spec, path, estimate, _ in found:
        print(f"{path}: video {spec.id}, backend {spec.backend}")
        print(estimate.table())
        retakes = spec_retakes(spec)
        if retakes and estimate.total:
            extra = retake_allowance(estimate.lines, retakes)
            judged = ", and judged" if spec.qc is not None and spec.qc.judge == "replicate" else ""
            print(f"retakes: {usd(estimate.total)} without retakes; {retakes} retake(s) per clip can add at most "
                  f"{usd(extra)} (each chunk and bridge made again{judged}), only while the spend stays within "
                  "budget_usd")  # fmt: skip
        if spec.budget_usd is not None:
            refusal = budget_refusal(spec.budget_usd, estimate)
            verdict = "OVER BUDGET: render would refuse it" if refusal else "within budget"
            print(f"budget_usd {usd(Decimal(str(spec.budget_usd)))}: {verdict}")
        print()
    prices = load_prices(Settings.from_env().prices)  # read without a problem by `_estimates`
    for spec, *_ in found:
        if spec.variants is not None:
            print(set_total(spec, [(plan, est) for _, _, est, plan in found], prices))
            budget = set_budget(spec, [(plan, est) for _, _, est, plan in found], prices)
            if budget is not None:
                print(budget)
    return EXIT_OK


def cmd_render(args: argparse.Namespace) -> int:
    specs = _load(args.specs)
    if specs is None:
        return EXIT_INVALID
    try:
        settings = Settings.from_env()
        if args.data_dir:
            settings = settings.replace(data_dir=args.data_dir)
        if args.max_parallel:
            settings = settings.replace(max_parallel_pairs=args.max_parallel)
    except SettingsError as exc:
        _err(f"settings: {exc}")
        return EXIT_INVALID

    from vidgen_assets.backends import BackendUnavailable, get_backend

    for spec, _, path, _, workflows, _ in specs:
        try:
            backend = get_backend(spec.backend, settings, spec_models(spec), spec=spec, workflows=workflows)
            backend.start_render()  # a pool of servers: none answering is one clear error before any work
        except BackendUnavailable as exc:
            _err(f"invalid spec {path}:\n  backend: {exc}")
            return EXIT_INVALID
    # Budgets are checked for every spec before anything is generated (and so before anything is paid).
    estimates = _estimates(specs, settings)
    if estimates is None:
        return EXIT_INVALID
    refusals = [r for spec, _, est, _ in estimates if (r := budget_refusal(spec.budget_usd, est)) is not None]
    planned = [(plan, est) for _, _, est, plan in estimates]
    prices = load_prices(settings.prices)  # read without a problem by `_estimates`
    refusals += [r for spec, *_ in estimates if (r := set_refusal(spec, planned, prices)) is not None]
    if refusals:
        for refusal in refusals:
            _err(f"refused: {refusal}")
        return EXIT_INVALID

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from vidgen_assets import processes
        from vidgen_assets.defs.report import check_results
        from vidgen_assets.runner import RenderFailed, Runner, dagster_home

        home = dagster_home(settings, Path(args.dagster_home) if args.dagster_home else None)
        print(f"data dir: {settings.data_dir}\ndagster instance: {home}")
        processes.keep_terminal()
        started: list[Runner] = []

        def render_all() -> int:
            runner = Runner(settings, home, verbose=args.verbose)
            started.append(runner)
            orphans = processes.fail_orphaned_runs(runner.instance)
            if orphans:
                gone = "the process that ran them is gone (killed or crashed)"
                print(f"marked {len(orphans)} earlier run(s) failed: {gone}")
            failed = 0
            sets = [(s, members_of(s, [m for m, *_ in specs])) for s, *_ in specs if s.variants is not None]
            for base, members in sets:  # each video knows its set: its report step updates the set's page
                for member in members:
                    store_set(runner.store, member.video_id, set_text(base.id, members))
            for spec, text, path, references, workflows, track in specs:
                try:
                    report = runner.render(spec, text, references, workflows, track)
                except RenderFailed as exc:
                    _err(f"render of {path} failed: {exc.detail if args.verbose else exc}")
                    if not args.verbose:
                        _err("  (full traceback: vidgen render --verbose, or the run in the Dagster UI)")
                    failed += 1
                    continue
                split = ", ".join(f"{name} {s:.1f} s" for name, s in report.stages_s.items() if "/" not in name)
                cost = usd(Decimal(str(report.cost_usd)))
                print(f"[{spec.id}] done in {report.wall_s:.1f} s ({split}); cost {cost}")
                for warning in report.warnings:
                    print(f"[{spec.id}] warning: {warning}")
                print(report.final_uri)
            for base, members in sets:  # a spec with variants: its videos side by side, to compare
                page = write_page(
                    runner.store, base.id, members, checks_of=lambda vid: check_results(runner.instance, vid)
                )
                print(f"[{base.id}] variants to compare: {page}")
            return failed

        def interrupted(signum: int) -> None:
            name = signal.Signals(signum).name
            stderr = processes.mute_output()
            runner = started[0] if started else None
            in_flight = processes.session_runs(runner.instance, runner.session) if runner else []
            stopped = processes.stop_children()
            reason = f"vidgen render stopped by {name}"
            canceled = processes.cancel_runs(runner.instance, runner.session, reason, also=in_flight) if runner else []
            print(
                f"vidgen: stopped by {name}: ended {stopped} process(es), marked {len(canceled)} run(s) canceled; "
                "a re-run continues from what finished",
                file=stderr,
                flush=True,
            )
            os._exit(processes.exit_code(signum))

        failed = processes.run_owned(render_all, interrupted)
    return EXIT_FAILED if failed else EXIT_OK


def _price_text(price: Price) -> str:
    return f"{usd(price.usd)}/{ {'second': 's', 'character': 'character'}.get(price.unit, 'run') }"


def _capabilities(model: ReplicateModel) -> str:
    can = []
    if model.image_key:
        can.append(f"start image ({model.image_key})")
    if model.end_image_key:
        can.append(f"end frame ({model.end_image_key})")
    if model.reference_images_key:
        can.append(f"{model.max_reference_images} reference images ({model.reference_images_key})")
    if model.input_images_key:
        many = f"up to {model.max_input_images} " if model.max_input_images else ""
        can.append(f"{many}input image(s) ({model.input_images_key})")
    if model.native_audio:
        can.append(f"makes sound ({'sent ' + model.audio_key + '=false' if model.audio_key else 'no switch'})")
    if model.voices:
        can.append(f"voices {', '.join(model.voices)}")
    return "; ".join(can) or "text only"


def _native(model: ReplicateModel) -> str:
    parts = []
    if model.kind == "video":
        lengths = "/".join(str(n) for n in model.clip_lengths)
        clip = f"{model.num_frames} frames" if model.num_frames else f"{float(model.billed_seconds):g} s"
        parts.append(clip + (f" (takes {lengths} s)" if lengths else ""))
        if model.size:
            parts.append(f"{model.size[0]}x{model.size[1]}")
        if model.fps:
            parts.append(f"{model.fps} fps")
    return ", ".join([*parts, model.output or "?"])


def describe_registry(prices: dict[str, Price]) -> str:
    """The registry as a person reads it: one block per model, by the stage that calls it."""
    kinds = {kind: stage for stage, kind in STAGE_KINDS.items()}
    order = {kind: i for i, kind in enumerate(("image", "video", "music", "llm", "tts"))}
    rows = []
    for model in sorted(REGISTRY.values(), key=lambda m: (order.get(m.kind, 9), m.id)):
        stage = kinds.get(model.kind, model.kind)
        marks = [label for label, table in (("default", DEFAULTS), ("default with bridges", BRIDGE_DEFAULTS))
                 if table.get(stage) == model.id]  # fmt: skip
        rows.append(f"{stage:<8} {model.id}{' [' + ', '.join(marks) + ']' if marks else ''}")
        price = f"{_price_text(model.price)} ({model.price.source}, {model.price.date})"
        rows += [f"{'':<9}can:         {_capabilities(model)}", f"{'':<9}native:      {_native(model)}",
                 f"{'':<9}price:       {price}"]  # fmt: skip
        if model.audio_price is not None:
            rows.append(f"{'':<9}with sound:  {_price_text(model.audio_price)} ({model.audio_price.source})")
        override = prices.get(model.id)
        if override is not None:
            rows.append(f"{'':<9}OVERRIDE:    {_price_text(override)} ({override.source}, {override.date}) is used")
        if model.confirmed:
            rows.append(f"{'':<9}confirmed:   {model.confirmed}")
        if model.unconfirmed:
            rows.append(f"{'':<9}UNCONFIRMED: {model.unconfirmed}")
    rows += [
        "",
        f"price overrides in force: {', '.join(sorted(prices))} (from ${PRICES_ENV})"
        if prices
        else f"price overrides in force: none (set ${PRICES_ENV} to a JSON file)",
        "a spec chooses with `models: {image: ..., video: ..., music: ..., planner: ..., voice: ...}` "
        "(backend: replicate)",
    ]
    return "\n".join(rows)


def cmd_models(args: argparse.Namespace) -> int:
    try:
        prices = load_prices(Settings.from_env().prices)
    except (ValueError, SettingsError) as exc:
        _err(f"settings: {exc}")
        return EXIT_INVALID
    print(describe_registry(prices))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """Write a rendered video's finished timeline for an editor; print where."""
    from vidgen_assets.core.spec import ID_PATTERN
    from vidgen_assets.editorial.export import ExportError, check_format, check_spec, export
    from vidgen_assets.storage.store import StoreError

    try:
        check_format(args.format)
        settings = Settings.from_env()
        if args.data_dir:
            settings = settings.replace(data_dir=args.data_dir)
    except ExportError as exc:
        _err(f"vidgen export: {exc}")
        return EXIT_INVALID
    except SettingsError as exc:
        _err(f"settings: {exc}")
        return EXIT_INVALID
    path = Path(args.spec)
    try:
        store = settings.store()
        if path.is_file():
            loaded = _load([args.spec])
            if loaded is None:
                return EXIT_INVALID
            spec, _, _, references, _, _ = loaded[0]
            check_spec(store, spec, {r.planned.name: r.planned.sha256 for r in references}, args.spec)
            video_id = spec.id
        elif re.fullmatch(ID_PATTERN, args.spec):
            video_id = args.spec
        else:
            _err(f"vidgen export: {args.spec!r} is neither a spec file nor a video id ({ID_PATTERN})")
            return EXIT_INVALID
        print(export(store, video_id, args.format))
    except ExportError as exc:
        _err(f"vidgen export: {exc}")
        return EXIT_INVALID
    except StoreError as exc:
        _err(f"vidgen export: {exc}")
        return EXIT_FAILED
    return EXIT_OK


def _video_ids(arg: str) -> list[str] | None:
    """The video ids a SPEC argument names: a spec file's id and its variants' ids, or a video id."""
    from vidgen_assets.core.spec import ID_PATTERN, VARIANT_SEPARATOR, variant_names

    if Path(arg).is_file():
        loaded = _load([arg])
        if loaded is None:
            return None
        spec = loaded[0][0]
        return [spec.id, *(f"{spec.id}{VARIANT_SEPARATOR}{name}" for name in variant_names(spec))]
    if re.fullmatch(ID_PATTERN, arg):
        return [arg]
    _err(f"{arg!r} is neither a spec file nor a video id ({ID_PATTERN})")
    return None


def describe_takes(video_id: str, rows: Sequence[dict[str, Any]]) -> str:
    """Every take of a video's clips as a table: `*` marks the take each clip uses."""
    clips = {str(r["clip"]) for r in rows}
    retakes = sum(1 for r in rows if int(r.get("attempt", 0)) > 0)
    lines = [
        f"video {video_id}: {len(clips)} clip(s), {len(rows)} take(s), {retakes} retake(s); * = the take used",
        f"{'clip':<10} {'beat':<16} {'take':>4} {'':1} {'checks':<30} {'score':>5} {'seed':>10} {'cost':>9}  file",
    ]
    for r in rows:
        failed = list(r.get("failed") or [])
        warned = list(r.get("warnings") or [])
        verdict = ("FAILED " + ", ".join(failed)) if failed else "passed" if r.get("checks") else "not checked"
        if warned:
            verdict += f" (warning: {', '.join(warned)})"
        score = f"{float(r['score']):.2f}" if r.get("score") is not None else "-"
        used = "*" if r.get("chosen") else ""
        cost = usd(Decimal(str(r.get("cost_usd", 0))))
        lines.append(
            f"{r['clip']:<10} {str(r.get('beat_name', ''))[:16]:<16} {r['take']:>4} {used:1} "
            f"{verdict:<30} {score:>5} {r.get('seed', ''):>10} {cost:>9}  {r['file']}"
        )
        if r.get("reason"):
            lines.append(f"{'':<10} judge: {r['reason']}")
    return "\n".join(lines)


def cmd_takes(args: argparse.Namespace) -> int:
    """List every take of every clip of rendered videos, with its checks, score, seed and cost."""
    from vidgen_assets.storage.artifacts import load_plan
    from vidgen_assets.storage.store import StoreError
    from vidgen_assets.takes import video_takes

    try:
        settings = Settings.from_env()
        if args.data_dir:
            settings = settings.replace(data_dir=args.data_dir)
    except SettingsError as exc:
        _err(f"settings: {exc}")
        return EXIT_INVALID
    ids = _video_ids(args.spec)
    if ids is None:
        return EXIT_INVALID
    try:
        store = settings.store()
        plans = [(video_id, load_plan(store, video_id)) for video_id in ids]
        missing = [video_id for video_id, plan in plans if plan is None]
        if len(missing) == len(plans):
            _err(f"vidgen takes: video {missing[0]!r} is not rendered yet: nothing at "
                 f"{store.uri(layout.video_prefix(missing[0]))}; run `vidgen render {args.spec}`")  # fmt: skip
            return EXIT_INVALID
        found = {video_id: video_takes(store, plan) for video_id, plan in plans if plan is not None}
    except StoreError as exc:
        _err(f"vidgen takes: {exc}")
        return EXIT_FAILED
    if args.json:
        print(json.dumps(found, indent=2, sort_keys=True))
    else:
        print("\n\n".join(describe_takes(video_id, rows) for video_id, rows in found.items()))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vidgen", description="Turn video specs into finished MP4s with Dagster.")
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="print the plan of each spec, or its field errors")
    validate.add_argument("specs", nargs="+", metavar="SPEC")
    validate.set_defaults(func=cmd_validate)
    render = sub.add_parser("render", help="render specs; each ends in DIR/videos/<id>/final.mp4")
    render.add_argument("specs", nargs="+", metavar="SPEC")
    render.add_argument("--data-dir", help=f"artifact root (default ${DATA_ENV} or ./vidgen_data)")
    render.add_argument("--dagster-home", help=f"Dagster instance dir (default ${HOME_ENV} or ./.dagster_home)")
    render.add_argument("--max-parallel", type=int, help="chunk pairs rendered at once (default 4)")
    render.add_argument("--verbose", action="store_true", help="show a failure's full traceback and Dagster's errors")
    render.set_defaults(func=cmd_render)
    estimate = sub.add_parser("estimate", help="print what rendering each spec costs: per stage, model, calls")
    estimate.add_argument("specs", nargs="+", metavar="SPEC")
    estimate.set_defaults(func=cmd_estimate)
    models = sub.add_parser("models", help="list the models a spec can choose: capabilities, clips, prices")
    models.set_defaults(func=cmd_models)
    export = sub.add_parser(
        "export", help="write a rendered video's timeline for an editor (otio, edl, fcpxml, kdenlive)"
    )
    export.add_argument("spec", metavar="SPEC", help="a spec file or a registered video id")
    export.add_argument("--format", default="otio", help="otio (default), edl, fcpxml or kdenlive")
    export.add_argument("--data-dir", help=f"artifact root (default ${DATA_ENV} or ./vidgen_data)")
    export.set_defaults(func=cmd_export)
    takes = sub.add_parser("takes", help="list every take of a rendered video's clips: checks, scores, seeds, costs")
    takes.add_argument("spec", metavar="SPEC", help="a spec file (its video and variants) or a registered video id")
    takes.add_argument("--data-dir", help=f"artifact root (default ${DATA_ENV} or ./vidgen_data)")
    takes.add_argument("--json", action="store_true", help="print the takes as JSON")
    takes.set_defaults(func=cmd_takes)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
