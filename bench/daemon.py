"""From a dropped spec to its final video under the daemon, side by side with the CLI, in one run.

For each sensor interval asked for (by default vidgen's default and 5 s): a real `dagster-daemon run` on a
fresh instance (vidgen's dagster.yaml: run queue, pools) with local storage; one spec dropped into the spec
folder; the time until `final.mp4` appears. Then the instance is read: each run's creation (a sensor's
request), start (dequeued and launched), first step (the run's process has loaded Dagster and the code),
last step and end. The same spec is rendered by the CLI (`vidgen render`'s runner) on a fresh instance
right after each drop, so the ratio compares neighbours in time.

    .venv/bin/python -m bench.daemon [--spec examples/specs/cold-brew-ad.yaml] [--intervals 1 5] [--runs 3]

Each figure is the median of --runs drops (each on a fresh daemon and instance), each followed by a CLI
render of the same spec.
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

from bench.common import median, table, write_json
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
    """Per run, in seconds after the drop: requested (the sensor's tick), waiting in the queue, starting
    its process, its steps, its end."""
    rows: list[list[Any]] = []
    for r in runs:
        first, last = r["first_step"], r["last_step"]
        rows.append([
            r["job"], r["partition"], r["status"], round(r["created"] - dropped, 1),
            round((r["started"] or r["created"]) - r["created"], 1),
            round(first - r["started"], 1) if first and r["started"] else None,
            round(last - first, 1) if first and last else None,
            round((r["ended"] or last or dropped) - dropped, 1),
        ])  # fmt: skip
    rows.append(["final.mp4 seen", "", "", round(final_seen - dropped, 1), "", "", "", ""])
    return rows


HEADER = ["job", "partition", "status", "requested at s", "queued s", "process start s", "steps s", "ended at s"]


def daemon_render(spec_path: Path, video_id: str, interval: int, deadline: float, work: Path) -> dict[str, Any]:
    """One drop under a fresh daemon: the time to final.mp4 and every run's phases."""
    home, data, specs = work / "home", work / "data", work / "specs"
    for folder in (home, specs):
        folder.mkdir(parents=True)
    shutil.copy(REPO / "vidgen_assets" / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ, "DAGSTER_HOME": str(home), "VIDGEN_DATA": str(data), "VIDGEN_SPEC_DIR": str(specs),
        "VIDGEN_SENSOR_INTERVAL": str(interval),
    }  # fmt: skip
    daemon = _daemon(env, work / "daemon.log")
    final = data / "videos" / video_id / "final.mp4"
    try:
        time.sleep(max(10, interval + 5))  # the daemon's start and its first sensor ticks (not counted)
        dropped = time.time()
        shutil.copy(spec_path, specs / spec_path.name)
        while not final.exists() and time.time() - dropped < deadline:
            time.sleep(0.1)
        final_seen = time.time()
        time.sleep(3)  # let the run record its end
    finally:
        _stop(daemon)
    if not final.exists():
        raise SystemExit(f"no {final} after {deadline:.0f} s; see {work / 'daemon.log'}")
    runs = _runs(home)
    return {"drop_to_final_s": final_seen - dropped, "phases": phases(runs, dropped, final_seen), "runs": [
        {**r, "created": r["created"] - dropped, "started": (r["started"] or dropped) - dropped,
         "ended": (r["ended"] or dropped) - dropped} for r in runs]}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The command line `make bench` and bench/README.md give this benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(REPO / "examples" / "specs" / "cold-brew-ad.yaml"))
    parser.add_argument("--intervals", type=int, nargs="+", default=[Settings().sensor_interval, 5],
                        help="VIDGEN_SENSOR_INTERVAL values to measure (s)")  # fmt: skip
    parser.add_argument("--deadline", type=float, default=900)
    parser.add_argument("--runs", type=int, default=3, help="drops (each on a fresh daemon) per interval")
    return parser


def main() -> None:
    args = build_parser().parse_args()
    spec_path = Path(args.spec)
    spec = load_spec(spec_path)
    work = Path(tempfile.mkdtemp(prefix="vidgen-bench-daemon-"))
    results: list[dict[str, Any]] = []
    try:
        for interval in dict.fromkeys(args.intervals):
            drops, clis = [], []
            for n in range(args.runs):
                where = work / f"i{interval}-{n}"
                drops.append(daemon_render(spec_path, spec.id, interval, args.deadline, where / "daemon"))
                (where / "cli-home").mkdir()
                runner = Runner(Settings(data_dir=where / "cli-data"), where / "cli-home", progress=lambda _: None)
                clis.append(runner.render(spec, spec_path.read_text()))  # right after, on the same machine
            middle = sorted(drops, key=lambda d: d["drop_to_final_s"])[len(drops) // 2]
            drop_s, cli_s = median([d["drop_to_final_s"] for d in drops]), median([c.wall_s for c in clis])
            results.append({"interval_s": interval, **middle, "drops_s": [d["drop_to_final_s"] for d in drops],
                            "drop_to_final_s": drop_s, "cli_runs_s": [c.wall_s for c in clis], "cli_s": cli_s,
                            "cli_stages_s": clis[0].stages_s, "ratio": drop_s / cli_s})  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{spec_path.name}: {spec.duration} s video")
    for r in results:
        print(f"\nsensor interval {r['interval_s']} s: every run of the median drop")
        print(table(HEADER, r["phases"]))
    summary = [[r["interval_s"], len(r["runs"]), args.runs, round(r["drop_to_final_s"], 1), round(r["cli_s"], 1),
                f"{r['ratio']:.2f}x"] for r in results]  # fmt: skip
    columns = ["sensor interval s", "runs per video", "drops", "daemon drop to final s (median)",
               "CLI render s (median)", "daemon / CLI"]  # fmt: skip
    print("\n" + table(columns, summary))
    out = {"spec": spec_path.name, "results": [{**r, "phases": [dict(zip(HEADER, p, strict=True)) for p in r["phases"]]}
                                               for r in results]}  # fmt: skip
    print(f"\nwrote {write_json('daemon', out)}")


if __name__ == "__main__":
    main()
