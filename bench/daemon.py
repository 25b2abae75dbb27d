"""Where the self-running (daemon) path spends the time from a dropped spec to its final video.

Starts a real `dagster-daemon run` on a fresh instance (vidgen's dagster.yaml: run queue, pools) with
local storage, drops one spec into the spec folder, waits for `final.mp4`, then reads the instance: for
every run, when it was created (requested by a sensor), started (dequeued and launched), when its first
step started (the run process loaded Dagster and the code) and when its steps and the run ended. The
same spec is then rendered by the CLI runner on another fresh instance for comparison.

    .venv/bin/python -m bench.daemon --spec examples/specs/cold-brew-ad.yaml --interval 15
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import dagster as dg

from bench.common import table, write_json
from vidgen_assets.core.spec import load_spec
from vidgen_assets.runner import Runner
from vidgen_assets.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def _daemon(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    daemon = REPO / ".venv" / "bin" / "dagster-daemon"
    exe = str(daemon) if daemon.exists() else "dagster-daemon"
    with log.open("w") as handle:
        return subprocess.Popen(
            [exe, "run", "-w", str(REPO / "workspace.yaml")], cwd=REPO, env=env, stdout=handle,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def _stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _runs(home: Path) -> list[dict[str, Any]]:
    """Every run of the instance with its timestamps (epoch seconds) and its steps' start and end."""
    out = []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for record in instance.get_run_records():
            run = record.dagster_run
            steps = instance.get_run_step_stats(run.run_id)
            starts = [s.start_time for s in steps if s.start_time is not None]
            ends = [s.end_time for s in steps if s.end_time is not None]
            out.append({
                "job": run.job_name, "partition": run.tags.get("dagster/partition"), "status": run.status.value,
                "created": record.create_timestamp.timestamp(), "started": record.start_time,
                "ended": record.end_time, "first_step": min(starts, default=None), "last_step": max(ends, default=None),
                "step_s": sum((s.end_time or 0) - (s.start_time or 0) for s in steps if s.start_time),
            })  # fmt: skip
    return sorted(out, key=lambda r: r["created"])


def phases(runs: list[dict[str, Any]], dropped: float, final_seen: float) -> list[list[Any]]:
    """Per job: when its first run was requested (after the drop), how long runs waited in the queue and
    to start their process, how long their steps took, and the gap the sensor left after the job before."""
    rows: list[list[Any]] = []
    previous_end = dropped
    for job in ("prepare_video", "chunk_pairs", "make_music", "assemble_video"):
        mine = [r for r in runs if r["job"] == job and r["started"]]
        if not mine:
            continue
        requested = min(r["created"] for r in mine)
        queue = [r["started"] - r["created"] for r in mine]
        launch = [r["first_step"] - r["started"] for r in mine if r["first_step"]]
        steps = [r["step_s"] for r in mine]
        ended = max(r["ended"] or r["last_step"] or 0 for r in mine)
        gap = requested - previous_end if job != "make_music" else None
        rows.append([
            job, len(mine), round(requested - dropped, 1), None if gap is None else round(gap, 1),
            round(max(queue), 1), round(max(launch), 1), round(max(steps), 1), round(ended - dropped, 1),
        ])  # fmt: skip
        if job != "make_music":
            previous_end = ended
    rows.append(["final.mp4 seen", "", round(final_seen - dropped, 1), "", "", "", "", ""])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(REPO / "examples" / "specs" / "cold-brew-ad.yaml"))
    parser.add_argument("--interval", type=int, default=15, help="VIDGEN_SENSOR_INTERVAL (s)")
    parser.add_argument("--deadline", type=float, default=900)
    args = parser.parse_args()
    spec_path = Path(args.spec)
    spec = load_spec(spec_path)
    work = Path(tempfile.mkdtemp(prefix="vidgen-bench-daemon-"))
    try:
        home, data, specs = work / "home", work / "data", work / "specs"
        for folder in (home, specs):
            folder.mkdir()
        shutil.copy(REPO / "vidgen_assets" / "dagster.yaml", home / "dagster.yaml")
        env = {
            **os.environ, "DAGSTER_HOME": str(home), "VIDGEN_DATA": str(data), "VIDGEN_SPEC_DIR": str(specs),
            "VIDGEN_SENSOR_INTERVAL": str(args.interval),
        }  # fmt: skip
        daemon = _daemon(env, work / "daemon.log")
        final = data / "videos" / spec.id / "final.mp4"
        try:
            time.sleep(5)  # the daemon's first sensor ticks (not counted)
            dropped = time.time()
            shutil.copy(spec_path, specs / spec_path.name)
            while not final.exists() and time.time() - dropped < args.deadline:
                time.sleep(0.5)
            final_seen = time.time()
            time.sleep(5)  # let the assemble run record its end
        finally:
            _stop(daemon)
        runs = _runs(home)

        cli_home = work / "cli-home"
        cli_home.mkdir()
        settings = Settings(data_dir=work / "cli-data")
        cli = Runner(settings, cli_home, progress=lambda _: None).render(spec, spec_path.read_text())
    finally:
        shutil.rmtree(work, ignore_errors=True)

    header = ["job", "runs", "requested at s", "sensor gap s", "queue s (max)", "launch s (max)", "steps s (max)",
              "done at s"]  # fmt: skip
    rows = phases(runs, dropped, final_seen)
    print(f"{spec_path.name}: {spec.duration} s video, sensor interval {args.interval} s")
    print(table(header, rows))
    print(f"daemon: drop to final {final_seen - dropped:.1f} s; CLI render of the same spec {cli.wall_s:.1f} s")
    phases_out = [dict(zip(header, r, strict=True)) for r in rows]
    data_out = {"spec": spec_path.name, "interval_s": args.interval, "drop_to_final_s": final_seen - dropped,
                "cli_s": cli.wall_s, "cli_stages_s": cli.stages_s, "phases": phases_out,
                "runs": [{**r, "created": r["created"] - dropped, "started": (r["started"] or dropped) - dropped,
                          "ended": (r["ended"] or dropped) - dropped} for r in runs]}  # fmt: skip
    print(f"\nwrote {write_json('daemon', data_out)}")


if __name__ == "__main__":
    main()
