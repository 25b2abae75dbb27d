"""The sensors, ticked by hand with real cursors against a real instance and store."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from vidgen_assets.core.plan import build_plan
from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.defs.resources import Backends, VidgenResource, build_resources
from vidgen_assets.defs.sensors import VideoState, build_sensors, next_requests, spec_files
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
    # Not prepared: a storyboard drawn after the plan whose run failed (its check) blocks the video...
    unprepared = VideoState("v", prepared=False, plan_id=10, pair_ids={}, final_id=None, storyboard_id=11)
    assert next_requests(plan, unprepared) == []
    # ...a plan made on its own (from the UI) gets its storyboard drawn, once nothing else plans the video.
    planned_alone = VideoState("v", prepared=False, plan_id=10, pair_ids={}, final_id=None, storyboard_id=4)
    assert [(r.job_name, r.partition_key, r.run_key) for r in next_requests(plan, planned_alone)] == [
        ("draw_storyboard", "v", "v|storyboard|plan-10")
    ]
    busy = VideoState("v", prepared=False, plan_id=10, pair_ids={}, final_id=None, storyboard_id=None, busy=True)
    assert next_requests(plan, busy) == []
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


def test_an_s3_spec_folder_and_s3_artifacts_go_through_the_dagster_s3_resource(tmp_path, instance, s3, monkeypatch):
    from dagster_aws.s3 import S3Resource

    from vidgen_tests.conftest import free_port

    client = s3.client()
    client.put_object(Bucket=s3.bucket, Key="inbox/promo.yaml", Body=SPEC.format(prompt="from s3").encode())
    client.put_object(Bucket=s3.bucket, Key="inbox/old/ignored.yaml", Body=b"prompt: in a sub-folder\n")
    # The environment's endpoint leads nowhere: everything must come through the resource's config.
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    settings = Settings(
        data_dir=tmp_path / "unused", storage="s3", s3_bucket=s3.bucket, s3_prefix="art",
        spec_dir=f"s3://{s3.bucket}/inbox/", work_dir=tmp_path / "work",
    )  # fmt: skip
    vidgen = VidgenResource.from_settings(settings, s3=S3Resource(endpoint_url=s3.endpoint, max_attempts=1))
    with dg.build_sensor_context(instance=instance) as context:
        result = spec_files(context, vidgen, Backends(vidgen))
    assert requested(result) == [("prepare_video", "promo")]
    stored = client.get_object(Bucket=s3.bucket, Key="art/videos/promo/spec.source.yaml")["Body"].read()
    assert stored.decode() == SPEC.format(prompt="from s3")
    assert not (tmp_path / "unused").exists()


UI_SPEC = "prompt: started from the launchpad\nduration: 5\nresolution: 480p\ncta: Hi\n"


def test_a_video_started_by_materializing_video_spec_with_its_spec_in_the_run_config(settings, instance):
    from vidgen_assets.defs import build_definitions
    from vidgen_assets.defs.assets import video_spec

    defs = build_definitions(settings)
    instance.add_dynamic_partitions("videos", ["from-ui"])  # the UI's "Add a partition"

    def materialize(spec_yaml: str) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [video_spec], partition_key="from-ui", instance=instance, resources=build_resources(settings),
            run_config={"ops": {"video_spec": {"config": {"spec_yaml": spec_yaml}}}}, raise_on_error=False,
        )  # fmt: skip

    def failure(result: dg.ExecuteInProcessResult) -> str:
        [event] = [e for e in result.all_events if e.is_step_failure]
        data = event.step_failure_data
        assert data is not None and data.error is not None
        return str(data.error.message)

    source = settings.data_dir / "videos" / "from-ui" / "spec.source.yaml"
    # A bad spec fails the run with the usual field errors, and nothing is written for the video.
    bad = materialize("prompt: x\nduration: 5\nbeats: [{name: a, duration: 5, prompt: y, transition: swoosh}]\n")
    assert not bad.success
    message = failure(bad)
    assert "invalid spec run config ops.video_spec.config.spec_yaml" in message
    assert "beats[0].transition: unknown transition 'swoosh'" in message
    assert not (settings.data_dir / "videos" / "from-ui").exists()
    other = materialize("id: another-video\n" + UI_SPEC)
    assert not other.success and "has id 'another-video', not 'from-ui'" in failure(other)
    assert not source.exists()
    assert requested(tick("pair_driver", instance, settings)) == []

    # A good one is stored as the video's spec, planned, and pair_driver draws its storyboard first.
    assert materialize(UI_SPEC).success
    assert source.read_text() == UI_SPEC
    assert (settings.data_dir / "videos" / "from-ui" / "spec.json").is_file()
    assert requested(tick("pair_driver", instance, settings)) == [("draw_storyboard", "from-ui")]
    drawn = defs.resolve_job_def("draw_storyboard").execute_in_process(partition_key="from-ui", instance=instance)
    assert drawn.success
    after = tick("pair_driver", instance, settings)
    assert requested(after) == [("chunk_pairs", "p000|from-ui"), ("make_music", "from-ui")]

    # Without a spec in the config, the stored one is planned again (what the sensors' runs do).
    again = materialize("")
    assert again.success and source.read_text() == UI_SPEC


def test_malformed_spec_files_are_rejected_without_crashing_a_tick(tmp_path, settings, instance):
    settings = spec_settings(tmp_path, settings)
    specs = Path(settings.spec_dir)
    (specs / "good.yaml").write_text(SPEC.format(prompt="fine"))
    (specs / "binary.yaml").write_bytes(bytes(range(256)) * 4)
    (specs / "huge.yaml").write_bytes(b"prompt: " + b"x" * (10 * 1024 * 1024))
    (specs / "latin1.yaml").write_bytes("prompt: café crème\n".encode("latin-1"))
    (specs / "utf16.json").write_bytes('{"prompt": "p"}'.encode("utf-16"))
    (specs / "deep.yaml").write_text("[" * 5000)
    outside = tmp_path / "secret.yaml"
    outside.write_text(SPEC.format(prompt="not yours"))
    (specs / "link-out.yaml").symlink_to(outside)
    (specs / "dangling.yaml").symlink_to(tmp_path / "nothing-here.yaml")
    (specs / "everything").symlink_to("/")  # a link to a folder is never walked
    (specs / "folder.yaml").mkdir()

    first = tick("spec_files", instance, settings)
    assert requested(first) == [("prepare_video", "good")]
    rejected = settings.data_dir / "rejected"
    reasons = {p.name.removesuffix(".error.txt"): p.read_text() for p in rejected.iterdir()}
    assert sorted(reasons) == ["binary.yaml", "deep.yaml", "huge.yaml", "latin1.yaml", "link-out.yaml", "utf16.json"]
    assert "10,485,768 bytes: a spec file is at most 1,000,000 bytes" in reasons["huge.yaml"]
    assert f"a symlink to {outside}, outside the spec folder: not followed" in reasons["link-out.yaml"]
    assert "not yours" not in reasons["link-out.yaml"]
    assert "utf-8" in reasons["latin1.yaml"] and "utf-8" in reasons["utf16.json"]
    assert "nested too deeply" in reasons["deep.yaml"]
    assert not (settings.data_dir / "videos" / "link-out").exists()

    # The next tick looks at nothing again: no new records, no runs.
    for path in rejected.iterdir():
        path.unlink()
    again = tick("spec_files", instance, settings, first.cursor)
    assert requested(again) == [] and list(rejected.iterdir()) == []
