"""The sensors, ticked by hand with real cursors against a real instance and store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.defs import build_definitions
from vidgen_assets.defs.resources import Backends, VidgenResource, build_resources
from vidgen_assets.defs.sensors import build_sensors, spec_files
from vidgen_assets.runner import Runner
from vidgen_assets.settings import Settings
from vidgen_tests.conftest import materialized

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


def launch(result: dg.SensorResult, settings: Settings, instance: dg.DagsterInstance) -> list[Any]:
    """Do what the daemon does with a tick's result: add its partitions, execute each requested run."""
    for add in result.dynamic_partitions_requests or []:
        assert isinstance(add, dg.AddDynamicPartitionsRequest)
        instance.add_dynamic_partitions(add.partitions_def_name, list(add.partition_keys))
    defs = build_definitions(settings)
    done = []
    for request in result.run_requests or []:
        assert request.job_name is not None and request.partition_key is not None
        job = defs.resolve_job_def(request.job_name)
        config, key, tags = request.run_config, request.partition_key, request.tags
        done.append(job.execute_in_process(run_config=config, partition_key=key, instance=instance, tags=tags))
    return done


@pytest.mark.slow
def test_new_changed_unchanged_malformed_and_duplicate_spec_files(tmp_path, settings, instance):
    settings = spec_settings(tmp_path, settings)
    specs = Path(settings.spec_dir)
    (specs / "first-ad.yaml").write_text(SPEC.format(prompt="one"))
    (specs / "second.yml").write_text("id: second-ad\n" + SPEC.format(prompt="two"))
    (specs / "broken.yaml").write_text("prompt: p\nbeats: [{name: a, duration: 5, prompt: x, transition: swoosh}]\n")
    (specs / "notes.txt").write_text("not a spec")

    first = tick("spec_files", instance, settings)
    assert requested(first) == [("render_video", "first-ad"), ("render_video", "second-ad")]
    [add] = first.dynamic_partitions_requests or []
    assert isinstance(add, dg.AddDynamicPartitionsRequest)
    assert (add.partitions_def_name, sorted(add.partition_keys)) == ("videos", ["first-ad", "second-ad"])
    assert not (settings.data_dir / "videos").exists()  # the tick reads and checks; the run stores
    # Each request is the whole video in one run, its spec in the run config.
    one = list(first.run_requests or [])[:1]
    [run] = launch(dg.SensorResult(run_requests=one, dynamic_partitions_requests=[add]), settings, instance)
    assert run.success and [r.job_name for r in instance.get_runs()] == ["render_video"]
    video = settings.data_dir / "videos" / "first-ad"
    assert (video / "spec.source.yaml").read_text() == SPEC.format(prompt="one")
    assert (video / "final.mp4").is_file()
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
    assert requested(changed) == [("render_video", "first-ad")]
    assert changed.run_requests and first.run_requests
    assert changed.run_requests[0].run_key != next(
        r.run_key for r in first.run_requests if r.partition_key == "first-ad"
    )
    assert changed.dynamic_partitions_requests == []  # the video is registered already

    # Fixing the malformed file registers it; a second file claiming an id already in use is rejected.
    (specs / "broken.yaml").write_text(SPEC.format(prompt="fixed"))
    (specs / "copycat.yaml").write_text("id: first-ad\n" + SPEC.format(prompt="copy"))
    fixed = tick("spec_files", instance, settings, changed.cursor)
    assert requested(fixed) == [("render_video", "broken")]
    assert (
        "id 'first-ad' is already used by first-ad.yaml"
        in (settings.data_dir / "rejected" / "copycat.yaml.error.txt").read_text()
    )


@pytest.mark.slow
def test_a_spec_already_rendered_with_identical_content_is_not_rerun(tmp_path, settings, home, instance):
    settings = spec_settings(tmp_path, settings)
    text = SPEC.format(prompt="done before")
    Runner(settings, home, progress=lambda _: None).render(read_spec_text(text, "x", default_id="again"), text)
    (Path(settings.spec_dir) / "again.yaml").write_text(text)
    assert requested(tick("spec_files", instance, settings)) == []
    (Path(settings.spec_dir) / "again.yaml").write_text(text + "cta: New end\n")
    assert requested(tick("spec_files", instance, settings)) == [("render_video", "again")]


@pytest.mark.slow
def test_an_edit_of_one_beat_is_one_run_that_remakes_only_that_beats_image_and_pair(tmp_path, settings, home, instance):
    settings = spec_settings(tmp_path, settings)
    three = SPEC.replace("duration: 10", "duration: 15") + "  - {{name: c, duration: 5, prompt: z}}\n"
    text = three.format(prompt="edited later")
    Runner(settings, home, progress=lambda _: None).render(read_spec_text(text, "x", default_id="edit"), text)
    board = settings.data_dir / "videos" / "edit" / "storyboard"
    before = {p.name: p.read_bytes() for p in board.glob("*.png")}

    (Path(settings.spec_dir) / "edit.yaml").write_text(text.replace("prompt: y}", "prompt: a new middle}"))
    registered = tick("spec_files", instance, settings)
    assert requested(registered) == [("render_video", "edit")]
    [run] = launch(registered, settings, instance)
    assert run.success and len(instance.get_runs()) == 2  # the CLI's render, then this one
    after = {p.name: p.read_bytes() for p in board.glob("*.png")}
    assert [name for name in sorted(before) if before[name] != after[name]] == ["beat_01.png"]
    record = json.loads((board / "storyboard.json").read_text())
    assert record["kept"] == ["storyboard/beat_00.png", "storyboard/beat_02.png"]
    pairs = materialized(run, "chunk_pairs")
    assert pairs["made"] == "p001" and pairs["reused"] == "p000, p002"
    assert materialized(run, "music")["cached"] is True


def test_a_rejection_is_the_ticks_skip_reason_and_its_record_goes_once_the_file_is_fixed(tmp_path, settings, instance):
    settings = spec_settings(tmp_path, settings)
    spec = Path(settings.spec_dir) / "bad.yaml"
    spec.write_text("prompt: p\nbeats: [{name: a, duration: 5, prompt: x, transition: swoosh\n")
    broken = tick("spec_files", instance, settings)
    assert broken.run_requests == [] and broken.skip_reason is not None
    reason = str(broken.skip_reason.skip_message)
    assert reason.startswith("rejected bad.yaml: invalid spec")
    assert f'in "{settings.spec_dir}/bad.yaml", line 3' in reason  # YAML's error names the file
    record = settings.data_dir / "rejected" / "bad.yaml.error.txt"
    assert record.exists()
    quiet = tick("spec_files", instance, settings, broken.cursor)
    assert quiet.skip_reason is not None
    assert quiet.skip_reason.skip_message == f"no new or changed spec file in {settings.spec_dir}"

    spec.write_text(SPEC.format(prompt="fixed"))
    fixed = tick("spec_files", instance, settings, quiet.cursor)
    assert requested(fixed) == [("render_video", "bad")]
    assert not record.exists()


def test_an_s3_spec_folder_and_s3_artifacts_go_through_the_dagster_s3_resource(tmp_path, instance, s3, monkeypatch):
    from dagster_aws.s3 import S3Resource

    from vidgen_tests.conftest import free_port

    client = s3.client()
    client.put_object(Bucket=s3.bucket, Key="inbox/promo.yaml", Body=SPEC.format(prompt="from s3").encode())
    client.put_object(Bucket=s3.bucket, Key="inbox/old/ignored.yaml", Body=b"prompt: in a sub-folder\n")
    client.put_object(Bucket=s3.bucket, Key="inbox/bad.yaml", Body=b"prompt: p\nduration: -1\n")
    # The environment's endpoint leads nowhere: everything must come through the resource's config.
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    settings = Settings(
        data_dir=tmp_path / "unused", storage="s3", s3_bucket=s3.bucket, s3_prefix="art",
        spec_dir=f"s3://{s3.bucket}/inbox/", work_dir=tmp_path / "work",
    )  # fmt: skip
    vidgen = VidgenResource.from_settings(settings, s3=S3Resource(endpoint_url=s3.endpoint, max_attempts=1))
    with dg.build_sensor_context(instance=instance) as context:
        result = spec_files(context, vidgen, Backends(vidgen=vidgen))
    assert requested(result) == [("render_video", "promo")]
    [request] = result.run_requests or []
    assert request.run_config == {"ops": {"video_spec": {"config": {"spec_yaml": SPEC.format(prompt="from s3")}}}}
    # The rejection record went to the artifact store through the resource; nothing else was written.
    assert s3.keys("art/") == ["art/rejected/bad.yaml.error.txt"]
    assert not (tmp_path / "unused").exists()


def finished_by(run: Any, settings: Settings, instance: dg.DagsterInstance) -> Any:
    """What the `finish_video` run-status sensor answers to the successful run `run`."""
    [sensor] = [s for s in build_sensors(settings) if s.name == "finish_video"]
    [event] = [e for e in run.all_events if e.event_type_value == "PIPELINE_SUCCESS"]
    context = dg.build_run_status_sensor_context(
        sensor_name="finish_video", dagster_event=event, dagster_instance=instance, dagster_run=run.dagster_run
    )
    return sensor(context)


UI_SPEC = "prompt: started from the launchpad\nduration: 5\nresolution: 480p\ncta: Hi\n"


@pytest.mark.slow
def test_a_video_started_by_materializing_video_spec_with_its_spec_in_the_run_config(settings, instance):
    from vidgen_assets.defs.assets import video_spec

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

    # A good one is stored as the video's spec and planned.
    assert materialize(UI_SPEC).success
    assert source.read_text() == UI_SPEC
    assert (settings.data_dir / "videos" / "from-ui" / "spec.json").is_file()

    # Without a spec in the config, the stored one is planned again; finish_video then asks for the one
    # render_video run that makes the rest.
    again = materialize("")
    assert again.success and source.read_text() == UI_SPEC
    request = finished_by(again, settings, instance)
    assert isinstance(request, dg.RunRequest)
    assert (request.job_name, request.partition_key) == ("render_video", "from-ui")
    [whole] = launch(dg.SensorResult(run_requests=[request]), settings, instance)
    assert whole.success and (settings.data_dir / "videos" / "from-ui" / "final.mp4").is_file()
    assert isinstance(finished_by(whole, settings, instance), dg.SkipReason)  # a whole video needs nothing more


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
    assert requested(first) == [("render_video", "good")]
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


VARIANT_SPEC = (
    "prompt: one\nduration: 5\nresolution: 480p\nmusic: false\ncta: Order today\n"
    "beats: [{name: a, duration: 5, prompt: x}]\nvariants:\n  - {name: b, cta: Try it free}\n"
)


@pytest.mark.slow
def test_a_spec_with_variants_registers_every_variant_as_a_video_of_its_own(tmp_path, settings, instance):
    settings = spec_settings(tmp_path, settings)
    specs = Path(settings.spec_dir)
    (specs / "ad.yaml").write_text(VARIANT_SPEC + "  - {name: vertical, aspect_ratio: '9:16'}\n")
    first = tick("spec_files", instance, settings)
    assert requested(first) == [("render_video", "ad"), ("render_video", "ad--b"), ("render_video", "ad--vertical")]
    [add] = first.dynamic_partitions_requests or []
    assert isinstance(add, dg.AddDynamicPartitionsRequest)
    assert sorted(add.partition_keys) == ["ad", "ad--b", "ad--vertical"]
    # Each variant's run carries its whole spec; it stores it and makes its own video.
    variant = [r for r in first.run_requests or [] if r.partition_key == "ad--b"]
    [run] = launch(dg.SensorResult(run_requests=variant, dynamic_partitions_requests=[add]), settings, instance)
    assert run.success
    video = settings.data_dir / "videos" / "ad--b"
    stored = (video / "spec.source.yaml").read_text()
    assert "id: ad--b" in stored and "cta: Try it free" in stored
    assert (video / "final.mp4").is_file() and not (settings.data_dir / "videos" / "ad" / "final.mp4").exists()
    # Only the set's comparison page is in the spec's folder yet (`test_variant_sets_daemon`).
    assert sorted(p.name for p in (settings.data_dir / "videos" / "ad").iterdir()) == ["variants.html"]

    # A variant removed from the file: its outputs and its partition stay; the unchanged variant, already
    # rendered from identical content, is not run again; the spec itself (its text changed) is.
    (specs / "ad.yaml").write_text(VARIANT_SPEC)
    again = tick("spec_files", instance, settings, first.cursor)
    assert requested(again) == [("render_video", "ad")]
    assert (video / "final.mp4").is_file()
    assert instance.has_dynamic_partition("videos", "ad--vertical")


def test_a_spec_with_a_bad_variant_is_rejected_naming_the_variant(tmp_path, settings, instance):
    settings = spec_settings(tmp_path, settings)
    (Path(settings.spec_dir) / "ad.yaml").write_text(VARIANT_SPEC + "  - {name: c, beats: {3: {text: x}}}\n")
    result = tick("spec_files", instance, settings)
    assert requested(result) == [] and not result.dynamic_partitions_requests
    record = (settings.data_dir / "rejected" / "ad.yaml.error.txt").read_text()
    assert "variants[1].beats.3: no beat 3; the spec has 1" in record
    assert not (settings.data_dir / "videos").exists()
