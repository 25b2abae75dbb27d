"""The sensors, ticked by hand with real cursors against a real instance and store."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from vidgen_assets.core.plan import build_plan
from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.defs.resources import build_resources
from vidgen_assets.defs.sensors import VideoState, build_sensors, next_requests
from vidgen_assets.runner import Runner
from vidgen_assets.settings import Settings

SPEC = (
    "prompt: {prompt}\nduration: 10\nresolution: 480p\nbeats:\n"
    "  - {{name: a, duration: 5, prompt: x}}\n  - {{name: b, duration: 5, prompt: y}}\n"
)


def tick(name: str, instance, settings, cursor=None) -> dg.SensorResult:
    [sensor] = [s for s in build_sensors(settings) if s.name == name]
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=build_resources(settings)) as context:
        result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def spec_settings(tmp_path: Path, settings: Settings) -> Settings:
    specs = tmp_path / "specs"
    specs.mkdir()
    return Settings(data_dir=settings.data_dir, spec_dir=str(specs), work_dir=tmp_path / "work")


def requested(result: dg.SensorResult) -> list[tuple[str | None, str | None]]:
    return sorted((r.job_name, r.partition_key) for r in result.run_requests or [])


def test_new_changed_unchanged_malformed_and_duplicate_spec_files(tmp_path, settings, instance):
    settings = spec_settings(tmp_path, settings)
    specs = Path(settings.spec_dir)
    (specs / "first-ad.yaml").write_text(SPEC.format(prompt="one"))
    (specs / "second.yml").write_text("id: second-ad\n" + SPEC.format(prompt="two"))
    (specs / "broken.yaml").write_text("prompt: p\nbeats: [{name: a, duration: 5, prompt: x, transition: swoosh}]\n")
    (specs / "notes.txt").write_text("not a spec")

    first = tick("spec_files", instance, settings)
    assert requested(first) == [("prepare_video", "first-ad"), ("prepare_video", "second-ad")]
    [add] = first.dynamic_partitions_requests or []
    assert isinstance(add, dg.AddDynamicPartitionsRequest)
    assert (add.partitions_def_name, sorted(add.partition_keys)) == ("videos", ["first-ad", "second-ad"])
    instance.add_dynamic_partitions("videos", list(add.partition_keys))  # what the daemon does with the request
    assert (settings.data_dir / "videos" / "first-ad" / "spec.source.yaml").read_text() == SPEC.format(prompt="one")
    rejection = settings.data_dir / "rejected" / "broken.yaml.error.txt"
    record = rejection.read_text()
    assert f"spec file: {specs}/broken.yaml" in record
    assert "beats[0].transition: unknown transition 'swoosh'" in record

    # Unchanged files never trigger again, and the malformed one is not re-examined.
    rejection.unlink()
    again = tick("spec_files", instance, settings, first.cursor)
    assert requested(again) == []
    assert not rejection.exists()

    # A changed file triggers once, with a new run key.
    (specs / "first-ad.yaml").write_text(SPEC.format(prompt="one, edited"))
    changed = tick("spec_files", instance, settings, again.cursor)
    assert requested(changed) == [("prepare_video", "first-ad")]
    assert changed.run_requests and first.run_requests
    assert changed.run_requests[0].run_key != next(
        r.run_key for r in first.run_requests if r.partition_key == "first-ad"
    )
    assert changed.dynamic_partitions_requests == []  # the video is registered already

    # Fixing the malformed file registers it; a second file claiming an id already in use is rejected.
    (specs / "broken.yaml").write_text(SPEC.format(prompt="fixed"))
    (specs / "copycat.yaml").write_text("id: first-ad\n" + SPEC.format(prompt="copy"))
    fixed = tick("spec_files", instance, settings, changed.cursor)
    assert requested(fixed) == [("prepare_video", "broken")]
    assert (
        "id 'first-ad' is already used by first-ad.yaml"
        in (settings.data_dir / "rejected" / "copycat.yaml.error.txt").read_text()
    )


def test_a_spec_already_rendered_with_identical_content_is_not_rerun(tmp_path, settings, home, instance):
    settings = spec_settings(tmp_path, settings)
    text = SPEC.format(prompt="done before")
    Runner(settings, home, progress=lambda _: None).render(read_spec_text(text, "x", default_id="again"), text)
    (Path(settings.spec_dir) / "again.yaml").write_text(text)
    assert requested(tick("spec_files", instance, settings)) == []
    (Path(settings.spec_dir) / "again.yaml").write_text(text + "cta: New end\n")
    assert requested(tick("spec_files", instance, settings)) == [("prepare_video", "again")]


def plan_for(pairs: int):
    beats = [{"name": f"b{i}", "duration": 5, "prompt": "x"} for i in range(pairs)]
    return build_plan(
        read_spec_text(json.dumps({"id": "v", "prompt": "p", "duration": 5 * pairs, "beats": beats}), "v"), 5
    )


def test_next_requests_runs_exactly_the_videos_stale_pairs_and_music_then_assembles():
    plan = plan_for(3)
    unprepared = VideoState("v", prepared=False, plan_id=10, pair_ids={}, final_id=None)
    assert next_requests(plan, unprepared) == []
    fresh = VideoState("v", prepared=True, plan_id=10, pair_ids={"p000": 12, "p001": 5}, final_id=None)
    assert [(r.job_name, r.partition_key, r.run_key) for r in next_requests(plan, fresh)] == [
        ("chunk_pairs", "p001|v", "v|p001|plan-10"),
        ("chunk_pairs", "p002|v", "v|p002|plan-10"),
        ("make_music", "v", "v|music|plan-10"),
    ]
    pairs_done = {"p000": 12, "p001": 14, "p002": 13}
    no_music = VideoState("v", prepared=True, plan_id=10, pair_ids=pairs_done, final_id=None, music_id=None)
    assert [r.job_name for r in next_requests(plan, no_music)] == ["make_music"]
    done = VideoState("v", prepared=True, plan_id=10, pair_ids=pairs_done, final_id=None, music_id=11)
    assert [(r.job_name, r.partition_key, r.run_key) for r in next_requests(plan, done)] == [
        ("assemble_video", "v", "v|assemble|inputs-14")
    ]
    assembled = VideoState("v", prepared=True, plan_id=10, pair_ids=done.pair_ids, final_id=20, music_id=11)
    assert next_requests(plan, assembled) == []
    rematerialized = VideoState(
        "v", prepared=True, plan_id=10, pair_ids={**pairs_done, "p001": 25}, final_id=20, music_id=11
    )
    assert [r.run_key for r in next_requests(plan, rematerialized)] == ["v|assemble|inputs-25"]


def test_pair_driver_follows_a_video_through_its_runs(settings, home, instance):
    runner = Runner(settings, home, progress=lambda _: None)
    text = SPEC.format(prompt="driven")
    spec = read_spec_text(text, "x", default_id="driven")
    assert requested(tick("pair_driver", instance, settings)) == []

    runner.register(spec, text)
    runner.defs.resolve_job_def("prepare_video").execute_in_process(partition_key="driven", instance=instance)
    after_prepare = tick("pair_driver", instance, settings)
    assert requested(after_prepare) == [
        ("chunk_pairs", "p000|driven"), ("chunk_pairs", "p001|driven"), ("make_music", "driven"),
    ]  # fmt: skip
    [add] = after_prepare.dynamic_partitions_requests or []
    assert isinstance(add, dg.AddDynamicPartitionsRequest) and sorted(add.partition_keys) == ["p000", "p001"]

    instance.add_dynamic_partitions("pairs", ["p000", "p001"])
    pairs_job = runner.defs.resolve_job_def("chunk_pairs")
    pairs_job.execute_in_process(partition_key="p000|driven", instance=instance)
    assert requested(tick("pair_driver", instance, settings)) == [
        ("chunk_pairs", "p001|driven"),
        ("make_music", "driven"),
    ]
    pairs_job.execute_in_process(partition_key="p001|driven", instance=instance)
    assert requested(tick("pair_driver", instance, settings)) == [("make_music", "driven")]
    runner.defs.resolve_job_def("make_music").execute_in_process(partition_key="driven", instance=instance)
    assert requested(tick("pair_driver", instance, settings)) == [("assemble_video", "driven")]
    runner.defs.resolve_job_def("assemble_video").execute_in_process(partition_key="driven", instance=instance)
    assert requested(tick("pair_driver", instance, settings)) == []

    # Re-materializing one pair by hand brings stitching and the final video along.
    pairs_job.execute_in_process(partition_key="p001|driven", instance=instance)
    assert requested(tick("pair_driver", instance, settings)) == [("assemble_video", "driven")]
