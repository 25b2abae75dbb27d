"""The spec-file sensor with reference images beside the specs: a local folder and an S3 prefix."""

from __future__ import annotations

import io
import json
from pathlib import Path

import dagster as dg
from PIL import Image

from vidgen_assets.defs import build_resources
from vidgen_assets.defs.assets import video_spec
from vidgen_assets.settings import Settings
from vidgen_tests.defs.test_sensors import requested, spec_settings, tick

SPEC = """\
prompt: p
duration: 10
resolution: 480p
references:
  product: {image: refs/bottle.png, describe: red bottle}
beats:
  - {name: a, duration: 5, prompt: x, uses: [product]}
  - {name: b, duration: 5, prompt: y, uses: []}
"""


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def plan_requested(result: dg.SensorResult, settings: Settings, instance: dg.DagsterInstance) -> None:
    """Plan the video of the tick's one request as its run does first (`video_spec` with the request's
    run config: the spec and its reference images are stored)."""
    [request] = result.run_requests or []
    assert request.partition_key is not None
    if not instance.has_dynamic_partition("videos", request.partition_key):
        instance.add_dynamic_partitions("videos", [request.partition_key])
    out = dg.materialize(
        [video_spec], partition_key=request.partition_key, resources=build_resources(settings), instance=instance,
        run_config=request.run_config,
    )  # fmt: skip
    assert out.success


def test_a_missing_reference_is_rejected_naming_the_field_then_registered_once_it_appears(tmp_path, settings, instance):
    settings = spec_settings(tmp_path, settings)
    specs = Path(settings.spec_dir)
    (specs / "bottle-ad.yaml").write_text(SPEC)

    first = tick("spec_files", instance, settings)
    assert requested(first) == []
    record = (settings.data_dir / "rejected" / "bottle-ad.yaml.error.txt").read_text()
    assert "references.product.image: no file 'refs/bottle.png' in the spec's folder" in record
    assert not (settings.data_dir / "videos").exists(), "nothing written for that video"

    # The photo appears beside the spec: the unchanged spec is registered, its photo stored with it.
    (specs / "refs").mkdir()
    (specs / "refs" / "bottle.png").write_bytes(png((200, 30, 30)))
    second = tick("spec_files", instance, settings, first.cursor)
    assert requested(second) == [("render_video", "bottle-ad")]
    stored = settings.data_dir / "videos" / "bottle-ad" / "references" / "product.png"
    assert not stored.exists()  # the tick reads; the run stores
    plan_requested(second, settings, instance)
    assert stored.read_bytes() == png((200, 30, 30))

    # Unchanged: nothing. A new photo under the same spec: a new run (a new run key), the new photo stored.
    assert requested(tick("spec_files", instance, settings, second.cursor)) == []
    (specs / "refs" / "bottle.png").write_bytes(png((30, 200, 30)))
    third = tick("spec_files", instance, settings, second.cursor)
    assert requested(third) == [("render_video", "bottle-ad")]
    assert third.run_requests and second.run_requests
    assert third.run_requests[0].run_key != second.run_requests[0].run_key
    plan_requested(third, settings, instance)
    assert stored.read_bytes() == png((30, 200, 30))

    # A path out of the folder is rejected like any bad field.
    (specs / "escape.yaml").write_text(SPEC.replace("refs/bottle.png", "../secret.png"))
    tick("spec_files", instance, settings, third.cursor)
    record = (settings.data_dir / "rejected" / "escape.yaml.error.txt").read_text()
    assert "references.product.image: '../secret.png' leaves the spec's folder" in record


def test_references_beside_a_spec_in_an_s3_prefix_reach_the_plan(s3, tmp_path, settings, instance):
    client = s3.client()
    client.put_object(Bucket=s3.bucket, Key="specs/bottle-ad.yaml", Body=SPEC.encode())
    client.put_object(Bucket=s3.bucket, Key="specs/refs/bottle.png", Body=png((200, 30, 30)))
    settings = Settings(data_dir=settings.data_dir, spec_dir=f"s3://{s3.bucket}/specs/", work_dir=tmp_path / "work")

    result = tick("spec_files", instance, settings)
    assert requested(result) == [("render_video", "bottle-ad")]
    plan_requested(result, settings, instance)
    plan = json.loads((settings.data_dir / "videos" / "bottle-ad" / "spec.json").read_text())
    (reference,) = plan["references"]
    assert (reference["name"], reference["file"], reference["width"], reference["describe"]) == (
        "product", "product.png", 300, "red bottle",
    )  # fmt: skip
    assert [beat["uses"] for beat in plan["beats"]] == [["product"], []]

    # A spec whose reference is missing from the prefix is rejected, naming the field.
    client.put_object(Bucket=s3.bucket, Key="specs/other.yaml", Body=SPEC.replace("bottle.png", "gone.png").encode())
    tick("spec_files", instance, settings, result.cursor)
    record = (settings.data_dir / "rejected" / "other.yaml.error.txt").read_text()
    assert "references.product.image: no file 'refs/gone.png' in the spec's folder" in record


def test_a_spec_given_in_video_specs_run_config_reads_its_references_from_the_spec_folder(tmp_path, settings, instance):
    from vidgen_assets.references import reference_key
    from vidgen_assets.storage.artifacts import load_plan

    settings = spec_settings(tmp_path, settings)
    instance.add_dynamic_partitions("videos", ["ui-bottle"])

    def materialize() -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [video_spec], partition_key="ui-bottle", instance=instance, resources=build_resources(settings),
            run_config={"ops": {"video_spec": {"config": {"spec_yaml": SPEC}}}}, raise_on_error=False,
        )  # fmt: skip

    missing = materialize()  # no refs/bottle.png in the spec folder yet: the field names it, nothing written
    assert not missing.success
    [failure] = [e for e in missing.all_events if e.is_step_failure]
    assert failure.step_failure_data is not None and failure.step_failure_data.error is not None
    assert "references.product.image: no file 'refs/bottle.png'" in failure.step_failure_data.error.message
    assert not (settings.data_dir / "videos" / "ui-bottle").exists()

    (Path(settings.spec_dir) / "refs").mkdir()
    (Path(settings.spec_dir) / "refs" / "bottle.png").write_bytes(png((200, 20, 20)))
    assert materialize().success
    store = settings.store()
    assert store.get_bytes(reference_key("ui-bottle", "product.png")) == png((200, 20, 20))
    plan = load_plan(store, "ui-bottle")
    assert plan is not None and [(r.name, r.describe) for r in plan.references] == [("product", "red bottle")]
