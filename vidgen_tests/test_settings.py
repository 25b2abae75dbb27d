"""Settings: every variable read in one place, validated with messages that name the variable."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest

from vidgen_assets.defs.sensors import build_sensors
from vidgen_assets.settings import ContextPool, Settings, SettingsError, activated, active, pair_workers

PACKAGE = Path(__file__).resolve().parents[1] / "vidgen_assets"


def test_every_variable_is_read_with_its_name(tmp_path):
    env = {
        "VIDGEN_DATA": str(tmp_path / "d"), "VIDGEN_CHUNK_SECONDS": "6", "VIDGEN_MAX_PARALLEL_PAIRS": "3",
        "VIDGEN_FFMPEG": "/opt/ffmpeg", "VIDGEN_FONT": str(tmp_path / "f.ttf"),
        "VIDGEN_PRICES": str(tmp_path / "p.json"),
        "VIDGEN_STITCH": "REENCODE", "VIDGEN_STORAGE": "s3", "VIDGEN_S3_BUCKET": "b", "VIDGEN_S3_PREFIX": "/team/",
        "VIDGEN_SPEC_DIR": "s3://b/specs/", "VIDGEN_WORK_DIR": str(tmp_path / "w"), "VIDGEN_SENSOR_INTERVAL": "5",
        "REPLICATE_API_TOKEN": "r8_secret", "REPLICATE_BASE_URL": "http://127.0.0.1:9",
        "REPLICATE_POLL_INTERVAL": "0.2",
        "DAGSTER_HOME": str(tmp_path / "h"),
    }  # fmt: skip
    s = Settings.from_env(env)
    assert (s.data_dir, s.chunk_seconds, s.max_parallel_pairs) == (tmp_path / "d", 6.0, 3)
    assert (s.ffmpeg, s.font, s.prices, s.stitch) == (
        "/opt/ffmpeg",
        tmp_path / "f.ttf",
        tmp_path / "p.json",
        "reencode",
    )
    assert (s.storage, s.s3_bucket, s.s3_prefix, s.spec_dir) == ("s3", "b", "team", "s3://b/specs/")
    assert (s.work_root, s.sensor_interval, s.home()) == (tmp_path / "w", 5, tmp_path / "h")
    assert s.replicate_api_token is not None and s.replicate_api_token.get_secret_value() == "r8_secret"
    assert (s.replicate_base_url, s.replicate_poll_interval) == ("http://127.0.0.1:9", 0.2)
    assert "r8_secret" not in repr(s) and "r8_secret" not in str(s)


def test_defaults_ignore_the_process_environment_when_a_mapping_is_given(monkeypatch):
    monkeypatch.setenv("VIDGEN_STITCH", "reencode")
    assert Settings.from_env({}).stitch == "copy"
    assert Settings.from_env().stitch == "reencode"
    assert Settings.from_env({"VIDGEN_DATA": ""}).data_dir == Path("vidgen_data").absolute()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"VIDGEN_CHUNK_SECONDS": "abc"}, "VIDGEN_CHUNK_SECONDS='abc': Input should be a valid number"),
        ({"VIDGEN_CHUNK_SECONDS": "31"}, "VIDGEN_CHUNK_SECONDS='31': Input should be less than or equal to 30"),
        (
            {"VIDGEN_MAX_PARALLEL_PAIRS": "0"},
            "VIDGEN_MAX_PARALLEL_PAIRS='0': Input should be greater than or equal to 1",
        ),
        ({"VIDGEN_SENSOR_INTERVAL": "soon"}, "VIDGEN_SENSOR_INTERVAL='soon': Input should be a valid integer"),
        ({"VIDGEN_STITCH": "fast"}, "VIDGEN_STITCH='fast': Input should be 'copy' or 'reencode'"),
        ({"VIDGEN_STORAGE": "s3"}, "VIDGEN_STORAGE=s3 needs VIDGEN_S3_BUCKET"),
        ({"REPLICATE_POLL_INTERVAL": "-1"}, "REPLICATE_POLL_INTERVAL='-1': Input should be greater than 0"),
    ],
)
def test_a_bad_value_names_the_variable_the_value_and_what_is_allowed(env, message):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert message in str(caught.value)


def test_the_sensor_interval_follows_the_settings_not_the_import(tmp_path):
    for interval in (5, 42):
        sensors = build_sensors(Settings(data_dir=tmp_path, sensor_interval=interval))
        assert {s.name: s.minimum_interval_seconds for s in sensors} == {
            "spec_files": interval,
            "finish_video": interval,
        }


def test_no_module_but_settings_reads_the_environment():
    readers = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "settings.py"
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"os\.environ|getenv|environ\.get", line)
    ]
    assert readers == []


def test_pair_workers_never_exceed_the_pairs_nor_the_cpus_for_a_local_backend(tmp_path):
    settings = Settings(data_dir=tmp_path, max_parallel_pairs=12)
    cpus = len(os.sched_getaffinity(0))  # what the process may use (a container's cpuset), not the machine's
    assert pair_workers(settings, "replicate", 6) == 6  # model calls wait on the network: one worker per pair
    assert pair_workers(settings, "replicate", 20) == 12  # the setting caps them
    assert pair_workers(settings, "replicate", None) == 12  # a prompt-only spec: beats not known yet
    assert pair_workers(settings, "animatic", 6) == min(6, cpus)  # CPU-bound: more would only add memory
    assert pair_workers(Settings(data_dir=tmp_path, max_parallel_pairs=1), "replicate", 6) == 1


def test_two_threads_each_see_the_settings_they_activated(tmp_path):
    """Two runs in one process at once: each thread's media tools follow its own run's settings, and the
    tasks a run hands a `ContextPool` follow that run's too."""
    both_active = threading.Barrier(2)
    seen: dict[str, list[Path | None]] = {}

    def run(name: str) -> None:
        mine = Settings(data_dir=tmp_path / name, font=tmp_path / f"{name}.ttf")
        with activated(mine):
            both_active.wait()  # the other thread has activated its settings too
            with ContextPool(2) as pool:
                in_pool = [f.result() for f in [pool.submit(lambda: active().font) for _ in range(4)]]
            seen[name] = [active().font, *in_pool]
            both_active.wait()  # neither leaves before both have looked
        seen[name].append(active().font)

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outside = Settings.from_env().font
    assert seen == {name: [tmp_path / f"{name}.ttf"] * 5 + [outside] for name in ("a", "b")}


def test_a_mapping_is_read_like_the_environment_and_nothing_else(monkeypatch):
    monkeypatch.setenv("VIDGEN_STITCH", "reencode")
    assert Settings.from_env({"VIDGEN_CHUNK_SECONDS": "7"}).stitch == "copy"  # not the process's variable
    assert Settings.from_env({"VIDGEN_CHUNK_SECONDS": "7"}).chunk_seconds == 7.0
    assert Settings.from_env({"chunk_seconds": "8"}).chunk_seconds == 8.0  # a field's own name, as in code
