"""The one job, `render_video`: a video is one run, whatever changed; inside it, each asset makes only
what its inputs changed (the rest is reused by fingerprint) and says so in its metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from vidgen_assets import recipes
from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.defs import build_definitions
from vidgen_assets.defs.assets import ALL_ASSETS
from vidgen_assets.defs.checks import ALL_CHECK_KEYS
from vidgen_assets.defs.jobs import RENDER_JOB
from vidgen_assets.runner import Runner
from vidgen_assets.settings import Settings
from vidgen_tests.conftest import materialized

ASSETS = [key.to_user_string() for a in ALL_ASSETS for key in a.keys]
SPEC = """\
prompt: p
duration: 10
resolution: 480p
beats:
  - {name: a, duration: 5, prompt: x}
  - {name: b, duration: 5, prompt: y}
"""


def latest(instance: dg.DagsterInstance, video_id: str) -> dict[str, dict[str, Any]]:
    """Each asset's latest materialization's metadata for the video (asset -> name -> value), with the
    run that made it under `run`."""
    out: dict[str, dict[str, Any]] = {}
    for name in ASSETS:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(dg.AssetKey(name), asset_partitions=[video_id]), limit=1
        ).records
        assert records, f"{name} was never materialized for {video_id}"
        event = records[0].event_log_entry
        assert event.asset_materialization is not None
        meta = {k: v.value for k, v in event.asset_materialization.metadata.items()}
        out[name] = {**meta, "run": event.run_id}
    return out


def render(settings: Settings, home: Path, text: str, video_id: str) -> None:
    Runner(settings, home, progress=lambda _: None).render(read_spec_text(text, "x", default_id=video_id), text)


def cached(meta: dict[str, dict[str, Any]]) -> dict[str, bool]:
    return {name: bool(m.get("cached", False)) for name, m in meta.items()}  # video_spec is always planned


@pytest.mark.slow
def test_a_render_is_one_run_of_every_asset_and_every_check(settings, home, instance):
    render(settings, home, SPEC, "one")
    runs = instance.get_runs()
    assert [(r.job_name, r.tags.get("dagster/partition")) for r in runs] == [(RENDER_JOB, "one")]
    assert runs[0].status == dg.DagsterRunStatus.SUCCESS
    meta = latest(instance, "one")
    assert {m["run"] for m in meta.values()} == {runs[0].run_id}
    assert not any(cached(meta).values())
    assert meta["chunk_pairs"]["made"] == "p000, p001" and meta["chunk_pairs"]["reused"] == "none"
    checks = {
        key.name: instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key].status.value
        for key in ALL_CHECK_KEYS
    }
    assert checks == {key.name: "SUCCEEDED" for key in ALL_CHECK_KEYS}
    assert list(settings.scratch_dir.iterdir()) == []  # nothing left in the scratch directory


@pytest.mark.slow
def test_a_current_video_is_one_run_that_makes_nothing_and_an_edit_makes_only_its_pair(settings, home, instance):
    render(settings, home, SPEC, "edit")
    final = settings.data_dir / "videos" / "edit" / "final.mp4"
    first_final = final.stat().st_mtime_ns
    render(settings, home, SPEC, "edit")
    assert len(instance.get_runs()) == 2
    assert all(v for k, v in cached(latest(instance, "edit")).items() if k != "video_spec")
    assert final.stat().st_mtime_ns == first_final

    render(settings, home, SPEC.replace("prompt: y", "prompt: a new second shot"), "edit")
    assert len(instance.get_runs()) == 3
    meta = latest(instance, "edit")
    assert meta["chunk_pairs"]["made"] == "p001" and meta["chunk_pairs"]["reused"] == "p000"
    assert cached(meta) == {
        "video_spec": False, "storyboard": False, "chunk_pairs": False, "music": True, "voice": True,
        "stitched_video": False, "soundtrack": True, "final_video": False,
    }  # fmt: skip
    pairs = json.loads((settings.data_dir / "videos" / "edit" / "chunks" / "p001.json").read_text())
    assert pairs["files"]


def test_a_render_made_again_leaves_no_work_folder_of_any_stage(settings, home):
    """Every stage's scratch folder goes when the stage ends, whether it made its output or reused it:
    the bridges too (each bridge works in a folder of its own inside the stage's)."""
    text = (
        "prompt: p\nduration: 6\nresolution: 480p\nvoice: {voice: narrator}\nmusic: {bpm: 90}\nbeats:\n"
        "  - {name: a, duration: 3, prompt: x, transition: bridge, say: Hi.}\n  - {name: b, duration: 3, prompt: y}\n"
    )
    render(settings, home, text, "again")
    assert list(settings.scratch_dir.iterdir()) == []
    assert (settings.data_dir / "videos" / "again" / "bridges" / "b000.mp4").is_file()
    render(settings, home, text, "again")  # everything reused
    assert list(settings.scratch_dir.iterdir()) == []


@pytest.mark.slow
def test_a_said_line_edited_remakes_its_voice_line_and_the_assembly_never_a_pair(settings, home, instance):
    head = "prompt: p\nduration: 6\nresolution: 480p\nvoice: {voice: narrator}\nsubtitles: soft\n"
    text = head + (
        "beats:\n  - {name: a, duration: 3, prompt: x, transition: bridge, say: Hello there.}\n"
        "  - {name: b, duration: 3, prompt: y, say: Goodbye.}\n"
    )
    render(settings, home, text, "talk")
    stored = json.loads((settings.data_dir / "videos" / "talk" / "final.json").read_text())
    assert stored["cost_by_stage"]["bridges"] == 0.0 and [round(c[0], 2) for c in stored["cues"]] == [0.25, 3.25]

    render(settings, home, text.replace("Goodbye.", "See you soon."), "talk")
    meta = latest(instance, "talk")
    assert meta["chunk_pairs"]["made"] == "none"
    assert meta["voice"]["made"] == "line_01" and meta["voice"]["reused"] == "line_00"
    assert cached(meta) == {
        "video_spec": False, "storyboard": True, "chunk_pairs": True, "music": True, "voice": False,
        "stitched_video": True, "soundtrack": False, "final_video": False,
    }  # fmt: skip


@pytest.mark.slow
def test_a_new_recipe_for_a_stage_remakes_that_stage_and_what_follows_it_only(
    settings, home, instance, monkeypatch: pytest.MonkeyPatch
):
    render(settings, home, SPEC, "recipe")
    monkeypatch.setitem(recipes.RECIPES, "stitched_video", recipes.RECIPES["stitched_video"] + "-next")
    render(settings, home, SPEC, "recipe")
    assert cached(latest(instance, "recipe")) == {
        "video_spec": False, "storyboard": True, "chunk_pairs": True, "music": True, "voice": True,
        "stitched_video": False, "soundtrack": True, "final_video": False,
    }  # fmt: skip


def test_the_job_is_the_whole_group_in_one_process_and_every_asset_states_its_code_version(settings):
    defs = build_definitions(settings)
    job = defs.resolve_job_def(RENDER_JOB)
    assert job.executor_def.name == "in_process"
    assert {key.to_user_string() for key in job.asset_layer.selected_asset_keys} == {*ASSETS, "report"}
    graph = defs.resolve_asset_graph()
    versions = {key.to_user_string(): graph.get(key).code_version for key in graph.get_all_asset_keys()}
    assert versions == {name: recipes.RECIPES[name] for name in [*ASSETS, "report"]}


@pytest.mark.slow
def test_music_alone_is_made_from_the_ui_without_touching_the_pairs(settings, home, instance):
    """`generate` is subsettable: re-materializing one of its assets (the UI's Materialize on `music`)
    makes that one only."""
    render(settings, home, SPEC, "alone")
    video = settings.data_dir / "videos" / "alone"
    before = {p.name: p.stat().st_mtime_ns for p in (video / "chunks").iterdir()}
    (video / "music.json").unlink()  # the music is not current any more
    job = build_definitions(settings).resolve_job_def(RENDER_JOB)
    result = job.execute_in_process(partition_key="alone", instance=instance, asset_selection=[dg.AssetKey("music")])
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [dg.AssetKey("music")]
    assert materialized(result, "music")["cached"] is False
    assert {p.name: p.stat().st_mtime_ns for p in (video / "chunks").iterdir()} == before
