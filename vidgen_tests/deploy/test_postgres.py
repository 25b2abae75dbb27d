"""Dagster on PostgreSQL for real: the stack's docker/dagster.yaml on a throwaway server, and the daemon
end-to-end test (specs dropped into a folder, artifacts in S3) on that instance, with a pool limit."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from collections.abc import Sequence
from itertools import combinations, pairwise
from pathlib import Path

import dagster as dg
import pytest

from vidgen_tests.conftest import REPO, PostgresServer, S3Server
from vidgen_tests.daemon import bin_path, run_daemon_until, vidgen_env
from vidgen_tests.defs.test_daemon import BAD, DEADLINE_S, GOOD

pytestmark = pytest.mark.postgres

STACK_INSTANCE = REPO / "docker" / "dagster.yaml"
IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING,
]  # fmt: skip


@pytest.fixture
def pg_home(tmp_path: Path, postgres: PostgresServer, s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAGSTER_HOME holding the stack's dagster.yaml, its DAGSTER_POSTGRES_* pointing at `postgres`, its
    compute logs going to `s3` (AWS_* come from the s3 fixture)."""
    for name, value in postgres.dagster_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("VIDGEN_S3_BUCKET", s3.bucket)
    monkeypatch.setenv("VIDGEN_WORK_DIR", str(tmp_path / "work"))
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(STACK_INSTANCE, home / "dagster.yaml")
    return home


def test_the_stack_instance_config_runs_on_postgres(pg_home: Path, s3: S3Server):
    from dagster._core.storage.compute_log_manager import ComputeIOType
    from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    with dg.DagsterInstance.from_config(str(pg_home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        config = instance.get_concurrency_config()
        assert config.run_queue_config is not None and config.run_queue_config.max_concurrent_runs == 8
        assert config.pool_config.default_pool_limit == 4
        instance.add_dynamic_partitions("videos", ["pg-check"])
        # A step's output, captured, lands in the bucket (where it outlives the container).
        manager = instance.compute_log_manager
        assert isinstance(manager, S3ComputeLogManager)
        run_id = f"pg-check-{uuid.uuid4().hex[:12]}"
        log_key = [run_id, "compute_logs", "a_step"]
        with manager.open_log_stream(log_key, ComputeIOType.STDOUT) as stream:
            assert stream is not None
            stream.write("hello from a step\n")
        keys = s3.keys("dagster-compute-logs/")
        assert keys and all(run_id in key for key in keys)
        assert manager.get_log_data(log_key).stdout == b"hello from a step\n"
    with dg.DagsterInstance.from_config(str(pg_home)) as again:  # a second process would see the same
        assert again.get_dynamic_partitions("videos") == ["pg-check"]


def run_table(records: Sequence[dg.RunRecord]) -> str:
    """Each run's job, partition and times (seconds after the first run was created)."""
    t0 = min(r.create_timestamp.timestamp() for r in records)
    lines = []
    for r in sorted(records, key=lambda r: r.create_timestamp):
        run = r.dagster_run
        times = [r.create_timestamp.timestamp(), r.start_time or t0, r.end_time or t0]
        created, started, ended = (f"+{value - t0:6.1f}" for value in times)
        partition = run.tags.get("dagster/partition", "")
        lines.append(f"  {run.job_name:15} {partition:18} created {created} started {started} ended {ended}")
    return "\n".join(lines)


def _intervals(instance: dg.DagsterInstance, job: str, step: str) -> list[tuple[float, float]]:
    out = []
    for record in instance.get_run_records(dg.RunsFilter(job_name=job)):
        for stats in instance.get_run_step_stats(record.dagster_run.run_id):
            if stats.step_key == step and stats.start_time is not None and stats.end_time is not None:
                out.append((stats.start_time, stats.end_time))
    return sorted(out)


@pytest.mark.daemon
@pytest.mark.slow
def test_daemon_on_postgres_renders_dropped_specs_with_the_pool_limit(tmp_path: Path, pg_home: Path, s3: S3Server):
    specs = tmp_path / "specs"
    specs.mkdir()
    env = vidgen_env(tmp_path, pg_home, s3, "pg", specs)
    # One video step at a time across all runs: the pool every video-model call goes through.
    subprocess.run([bin_path("dagster"), "instance", "concurrency", "set", "vidgen_video", "1"],
                   env=env, check=True, capture_output=True, timeout=120)  # fmt: skip
    with dg.DagsterInstance.from_config(str(pg_home)) as instance:
        assert instance.event_log_storage.get_concurrency_info("vidgen_video").slot_count == 1

    wanted = {
        "pg/videos/daemon-one/final.mp4",
        "pg/videos/daemon-two/final.mp4",
        "pg/rejected/daemon-bad.yaml.error.txt",
    }
    with dg.DagsterInstance.from_config(str(pg_home)) as instance:

        def settled() -> bool:  # every run the sensors asked for has ended
            return not instance.get_runs(dg.RunsFilter(statuses=IN_PROGRESS))

        result = run_daemon_until(
            env, specs, {**GOOD, **BAD}, s3, "pg/", wanted, tmp_path / "daemon.log", DEADLINE_S, settled
        )  # fmt: skip
    assert wanted <= result.keys, (
        f"after {result.elapsed_s:.0f} s, missing {sorted(wanted - result.keys)}\n{result.log_tail}"
    )
    print(f"\ndaemon on postgres: two dropped specs to final videos in S3 in {result.elapsed_s:.1f} s")
    assert {k for k in result.keys if re.fullmatch(r".*/chunks/chunk_\d+\.mp4", k)} == {
        "pg/videos/daemon-one/chunks/chunk_000.mp4",
        "pg/videos/daemon-two/chunks/chunk_000.mp4",
        "pg/videos/daemon-two/chunks/chunk_001.mp4",
    }

    with dg.DagsterInstance.from_config(str(pg_home)) as instance:
        records = instance.get_run_records()
        print(run_table(records))
        by_job: dict[str, int] = {}
        for record in records:
            run = record.dagster_run
            assert run.status == dg.DagsterRunStatus.SUCCESS, f"{run.job_name} {run.tags} ended {run.status}"
            by_job[run.job_name] = by_job.get(run.job_name, 0) + 1
        assert by_job == {"render_video": 2}  # one run per video
        # Runs overlapped: the daemon ran both videos at once (the run queue allows 8).
        spans = [(r.start_time, r.end_time) for r in records if r.start_time and r.end_time]
        overlapping = [(a, b) for a, b in combinations(spans, 2) if a[0] < b[1] and b[0] < a[1]]
        assert overlapping, f"no two runs overlapped: {sorted(spans)}"
        # The pool limit held: no two vidgen_video steps (generate, stitched_video) of the two runs
        # ever ran at the same time.
        steps = sorted(_intervals(instance, "render_video", "generate") + _intervals(instance, "render_video",
                       "stitched_video"))  # fmt: skip
        assert len(steps) == 4
        for (_, end), (start, _) in pairwise(steps):
            assert start >= end, f"vidgen_video steps overlapped despite vidgen_video=1: {steps}"
        assert instance.get_materialized_partitions(dg.AssetKey("final_video")) == {"daemon-one", "daemon-two"}
        # Every run's step logs were captured into the bucket (dagster-aws's S3ComputeLogManager).
        logged = {key.split("/")[2] for key in s3.keys("dagster-compute-logs/storage/")}
        assert {r.dagster_run.run_id for r in records} <= logged
