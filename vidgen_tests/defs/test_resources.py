"""vidgen's resources as Dagster shows and configures them: every setting visible, the token by name only,
and the definitions' `s3` resource, configured in a run, is the client the artifact store uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from vidgen_assets.defs import build_definitions
from vidgen_assets.defs.jobs import RENDER_JOB
from vidgen_assets.defs.resources import SETTING_FIELDS, VidgenResource, build_resources
from vidgen_assets.settings import Settings, SettingsError, variable
from vidgen_tests.conftest import S3Server, free_port

TOKEN = "r8_never-shown-0123456789"


def shown(settings: Settings) -> dict[str, object]:
    """The `vidgen` resource's configured values, as the UI's Deployment > Resources lists them."""
    resource = build_definitions(settings).get_repository_def().get_top_level_resources()["vidgen"]
    values: dict[str, object] = json.loads(resource.config_schema.default_value_as_json_str)
    return values


def test_every_setting_is_shown_with_its_value_and_the_token_by_its_name_only(tmp_path, monkeypatch):
    monkeypatch.setenv("REPLICATE_API_TOKEN", TOKEN)
    environ = {"VIDGEN_DATA": str(tmp_path / "data"), "VIDGEN_MAX_PARALLEL_PAIRS": "3", "VIDGEN_STITCH": "reencode",
               "REPLICATE_API_TOKEN": TOKEN}  # fmt: skip
    settings = Settings.from_env(environ)
    values = shown(settings)
    assert {k: v for k, v in values.items() if k not in ("replicate_api_token", "s3")} == settings.as_values()
    assert (values["data_dir"], values["max_parallel_pairs"], values["stitch"]) == (
        str(tmp_path / "data"), "3", "reencode",
    )  # fmt: skip
    assert values["replicate_api_token"] == {"env": "REPLICATE_API_TOKEN"}
    assert TOKEN not in json.dumps(values)
    # Each field says which variable it comes from.
    fields = VidgenResource.from_settings(settings).model_fields
    assert {name: fields[name].description for name in SETTING_FIELDS} == {n: variable(n) for n in SETTING_FIELDS}
    # The settings a run rebuilds from what is shown are the settings given, token included.
    resource = VidgenResource.from_settings(settings)
    given: dict[str, Any] = {k: v for k, v in values.items() if k != "s3"}
    rebuilt = type(resource)(**{**given, "replicate_api_token": TOKEN}, s3=resource.s3)
    assert rebuilt.settings == settings


def test_no_setting_shadows_what_the_resource_does(tmp_path):
    """A setting is a field of the resource: none may hide one of its methods (`prices` once did)."""
    vidgen = VidgenResource.from_settings(Settings(data_dir=tmp_path))
    for name in ("settings", "store", "price_overrides", "scratch"):
        assert name not in SETTING_FIELDS
    assert vidgen.price_overrides() == {} and vidgen.scratch().is_dir() and vidgen.store().exists("x") is False


def test_the_s3_resource_configured_in_a_run_is_the_stores_client(tmp_path, s3: S3Server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # the environment leads nowhere
    settings = Settings(data_dir=tmp_path / "unused", storage="s3", s3_bucket=s3.bucket, s3_prefix="cfg",
                        work_dir=tmp_path / "work")  # fmt: skip
    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("videos", ["configured"])
        spec = "prompt: p\nduration: 5\nresolution: 480p\n"
        result = defs.resolve_job_def(RENDER_JOB).execute_in_process(
            partition_key="configured", instance=instance, asset_selection=[dg.AssetKey("video_spec")],
            run_config={"resources": {"s3": {"config": {"endpoint_url": s3.endpoint, "max_attempts": 1}}},
                        "ops": {"video_spec": {"config": {"spec_yaml": spec}}}},
        )  # fmt: skip
    assert result.success
    assert s3.keys("cfg/videos/configured/") == [
        "cfg/videos/configured/spec.json", "cfg/videos/configured/spec.source.yaml",
    ]  # fmt: skip


def test_a_bad_setting_value_in_the_resource_names_the_variable(tmp_path):
    resource = VidgenResource.from_settings(Settings(data_dir=tmp_path))
    broken = type(resource)(**{**resource.model_dump(exclude={"s3"}), "max_parallel_pairs": "many"}, s3=resource.s3)
    with pytest.raises(ValueError, match="VIDGEN_MAX_PARALLEL_PAIRS='many': Input should be a valid integer"):
        _ = broken.settings
    assert build_resources(Settings(data_dir=Path(tmp_path)))["vidgen"].settings.data_dir == Path(tmp_path)


def test_a_token_given_in_code_only_is_refused_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)
    with pytest.raises(SettingsError, match="REPLICATE_API_TOKEN: a token given in code must also be set"):
        build_resources(Settings(data_dir=tmp_path, replicate_api_token=TOKEN))
