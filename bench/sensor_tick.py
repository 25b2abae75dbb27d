"""What a `spec_files` sensor tick costs as finished videos pile up: 2 and 200 rendered videos.

For each count, a spec folder holds that many spec files, each already registered (its `videos`
partition) and rendered (its stored spec and final manifest in the artifact store, as a render leaves
them). The sensor is evaluated twice on a real instance: once without a cursor (a new sensor, or one
whose cursor was reset: it checks each file against the store) and once with the cursor that tick
returned (what every later tick does). For each: wall time, the artifact store's reads (exists, get,
list, local path; the spec files themselves are read on every tick, to see changes), and the run
requests (none: every video is current).

    .venv/bin/python -m bench.sensor_tick [--videos 2 200] [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg

from bench.common import median, table, write_json
from vidgen_assets.defs.resources import build_resources
from vidgen_assets.defs.sensors import build_sensors
from vidgen_assets.settings import Settings
from vidgen_assets.storage import layout
from vidgen_assets.storage.store import LocalStore

SPEC = "prompt: video {n}\nduration: 10\nresolution: 480p\nbeats:\n  - {{name: a, duration: 5, prompt: x}}\n" + (
    "  - {{name: b, duration: 5, prompt: y}}\n"
)
READS = ("exists", "get_bytes", "list", "local_path")


@contextmanager
def counted_reads(root: Path) -> Iterator[Counter[str]]:
    """Count every read of the local artifact store at `root` while the block runs (not of the spec
    folder, which a tick reads: it is a local store too)."""
    counts: Counter[str] = Counter()
    originals = {name: getattr(LocalStore, name) for name in READS}

    def counting(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: LocalStore, *args: Any, **kwargs: Any) -> Any:
            if self.root == root.absolute():
                counts[name] += 1
            return method(self, *args, **kwargs)

        return wrapper

    for name, method in originals.items():
        setattr(LocalStore, name, counting(name, method))
    try:
        yield counts
    finally:
        for name, method in originals.items():
            setattr(LocalStore, name, method)


def rendered_folder(work: Path, videos: int) -> Settings:
    """A spec folder of `videos` files whose videos are registered and rendered."""
    specs, data = work / "specs", work / "data"
    specs.mkdir(parents=True)
    settings = Settings(data_dir=data, spec_dir=str(specs), work_dir=work / "work")
    store = settings.store()
    for n in range(videos):
        text = SPEC.format(n=n).encode()
        (specs / f"v{n:03d}.yaml").write_bytes(text)
        store.put_bytes(layout.video_key(f"v{n:03d}", layout.SPEC_SOURCE), text)
        store.put_bytes(layout.video_key(f"v{n:03d}", layout.MANIFESTS["final_video"]), b'{"files": []}')
    return settings


def tick(settings: Settings, instance: dg.DagsterInstance, cursor: str | None) -> tuple[dg.SensorResult, float, int]:
    [sensor] = [s for s in build_sensors(settings) if s.name == "spec_files"]
    resources = build_resources(settings)
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
    with counted_reads(settings.data_dir) as reads, context as c:
        start = time.perf_counter()
        result = sensor(c)
        took = time.perf_counter() - start
    assert isinstance(result, dg.SensorResult)
    return result, took, sum(reads.values())


def build_parser() -> argparse.ArgumentParser:
    """The command line `make bench` and bench/README.md give this benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, nargs="+", default=[2, 200])
    parser.add_argument("--runs", type=int, default=5)
    return parser


def main() -> None:
    args = build_parser().parse_args()
    rows, records = [], []
    for videos in args.videos:
        work = Path(tempfile.mkdtemp(prefix="vidgen-bench-tick-"))
        try:
            settings = rendered_folder(work, videos)
            home = work / "home"
            home.mkdir()
            with dg.DagsterInstance.from_config(str(home)) as instance:
                instance.add_dynamic_partitions("videos", [f"v{n:03d}" for n in range(videos)])
                colds, warms, cold_reads, warm_reads, requests = [], [], 0, 0, 0
                for _ in range(args.runs):
                    first, cold, cold_reads = tick(settings, instance, None)
                    _, warm, warm_reads = tick(settings, instance, first.cursor)
                    colds.append(cold)
                    warms.append(warm)
                    requests = len(first.run_requests or [])
        finally:
            shutil.rmtree(work, ignore_errors=True)
        rows.append([videos, median(colds), cold_reads, median(warms), warm_reads, requests])
        records.append({"videos": videos, "cold_s": colds, "cold_store_reads": cold_reads, "warm_s": warms,
                        "warm_store_reads": warm_reads, "run_requests": requests})  # fmt: skip
    header = ["videos rendered", "tick without cursor s", "store reads", "tick with cursor s", "store reads",
              "run requests"]  # fmt: skip
    print(table(header, rows))
    print(f"\nwrote {write_json('sensor_tick', {'runs': args.runs, 'ticks': records})}")


if __name__ == "__main__":
    main()
