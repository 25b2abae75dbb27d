"""The report's Dagster side: wall times and check results from the instance, and the `report` asset
that writes `videos/<id>/report.html` once the final video passed its checks.

The page itself is built by `vidgen_assets.report` (pure HTML from plain data, and what a store holds).
"""

from collections.abc import Sequence

import dagster as dg

from vidgen_assets import variant_page
from vidgen_assets.core.plan import Plan
from vidgen_assets.defs.assets import GROUP, final_video
from vidgen_assets.defs.checks import ALL_CHECK_KEYS
from vidgen_assets.defs.partitions import videos
from vidgen_assets.defs.resources import VidgenParam
from vidgen_assets.recipes import RECIPES
from vidgen_assets.report import CheckResult, write_report
from vidgen_assets.storage.artifacts import load_plan
from vidgen_assets.storage.store import ArtifactStore

TIMED = ("video_spec", "storyboard", "chunk_pairs", "music", "voice", "stitched_video", "soundtrack", "final_video")


def stage_timings(instance: dg.DagsterInstance, plan: Plan) -> dict[str, float]:
    """Wall seconds of each stage's latest materialization of this video: its own `wall_s` (the assets
    `generate` makes side by side) or its step's, from the instance's step statistics; and of each
    chunk pair (`chunk_pair/p000`, from `chunk_pairs`' metadata: about 0 for a pair reused). Stages
    not materialized yet (or still running) are left out."""
    wanted: list[tuple[str, str, str]] = [(s, s, plan.video_id) for s in TIMED]
    out: dict[str, float] = {}
    for name, asset, partition in wanted:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]), limit=1
        ).records
        if not records:
            continue
        event = records[0].event_log_entry.asset_materialization
        own = event.metadata.get("wall_s") if event is not None else None
        if isinstance(own, dg.FloatMetadataValue) and own.value is not None:
            out[name] = own.value  # made inside a step shared with others (generate)
        else:
            for stats in instance.get_run_step_stats(records[0].run_id, step_keys=[asset]):
                if stats.start_time is not None and stats.end_time is not None:
                    out[name] = round(stats.end_time - stats.start_time, 3)
        per_pair = event.metadata.get("pair_seconds") if event is not None else None
        if isinstance(per_pair, dg.JsonMetadataValue) and isinstance(per_pair.data, dict):
            out |= {f"chunk_pair/{key}": float(took) for key, took in per_pair.data.items()}
    return out


def check_results(instance: dg.DagsterInstance, video_id: str, history: int = 50) -> list[CheckResult]:
    """The latest result of each vidgen check for this video's partition, from the instance."""
    out: list[CheckResult] = []
    for key in ALL_CHECK_KEYS:
        records = instance.event_log_storage.get_asset_check_execution_history(key, limit=history)
        for record in records:  # newest first
            event = record.event.dagster_event if record.event is not None else None
            evaluation = event.event_specific_data if event is not None else None
            if record.partition != video_id or not isinstance(evaluation, dg.AssetCheckEvaluation):
                continue
            shown = {k: v for k, v in evaluation.metadata.items() if not isinstance(v, dg.MarkdownMetadataValue)}
            detail = ", ".join(f"{k}: {getattr(v, 'value', v)}" for k, v in sorted(shown.items()))
            out.append(CheckResult(key.name, evaluation.passed, detail))
            break
    return out


def publish(instance: dg.DagsterInstance, store: ArtifactStore, plan: Plan, checks: Sequence[CheckResult] = ()) -> str:
    """Write report.html with the timings and check results the instance has for this video; `checks`
    add to (and replace by name) the instance's. The key."""
    given = {c.name for c in checks}
    found = [c for c in check_results(instance, plan.video_id) if c.name not in given]
    return write_report(store, plan, [*found, *checks], stage_timings(instance, plan))


@dg.asset(partitions_def=videos, group_name=GROUP, kinds={"html"}, deps=[final_video], code_version=RECIPES["report"])
def report(context: dg.AssetExecutionContext, vidgen: VidgenParam) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """`report.html` beside the final video: storyboard, timeline, plan, per-stage costs, cache answers,
    wall times and check results, readable offline. Written after the final video passed its checks; a
    report that cannot be drawn is a warning, never a failed render."""
    store = vidgen.store()
    plan = load_plan(store, context.partition_key)
    if plan is None:
        raise dg.Failure(f"no plan for video {context.partition_key!r}: materialize video_spec first")
    try:
        key = publish(context.instance, store, plan)
    except Exception as exc:
        context.log.warning(f"report.html of {plan.video_id!r} could not be written: {exc}")
        return dg.MaterializeResult(metadata={"written": False, "error": str(exc)})
    uri = store.uri(key)
    path = dg.MetadataValue.url(uri) if uri.startswith("s3://") else dg.MetadataValue.path(uri)
    metadata: dict[str, dg.RawMetadataValue] = {"written": True, "path": path}
    try:  # a video of a set (a spec file with variants): its posters, then the set's page, updated
        if variant_page.current_set(store, plan.video_id) is not None:
            variant_page.write_posters(store, plan)
            page = variant_page.publish(
                store, plan.video_id, lambda vid: last_run_state(context.instance, vid),
                lambda vid: check_results(context.instance, vid),
            )  # fmt: skip
            if page is not None:
                metadata["variants_page"] = dg.MetadataValue.url(page) if page.startswith("s3://") else page
                context.log.info(f"{plan.video_id}: the comparison page of its set: {page}")
    except Exception as exc:
        context.log.warning(f"variants.html of {plan.video_id!r}'s set could not be written: {exc}")
    return dg.MaterializeResult(metadata=metadata)


def last_run_state(instance: dg.DagsterInstance, video_id: str) -> str | None:
    """How the latest `render_video` run of a video stands (`queued`, `started`, `failed`, ...), None
    when it has had none."""
    runs = instance.get_runs(dg.RunsFilter(tags={"dagster/partition": video_id}), limit=1)
    if not runs:
        return None
    states = {"QUEUED": "queued", "NOT_STARTED": "queued", "STARTING": "rendering", "STARTED": "rendering",
              "FAILURE": "failed", "CANCELING": "canceled", "CANCELED": "canceled"}  # fmt: skip
    return states.get(runs[0].status.name)
