"""Shared helpers for the benchmarks: medians, a process-tree RSS sampler, table printing, JSON output."""

from __future__ import annotations

import json
import os
import platform
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

RESULTS = Path(__file__).resolve().parent / "results"
T = TypeVar("T")


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_memory_mib(pid: int) -> tuple[float, float]:
    """Memory of a process and all its descendants, in MiB (Linux /proc): the sum of their RSS (which
    counts a page shared by several processes, as forked workers share their imports, once for each)
    and the sum of their PSS (which splits a shared page between its sharers: the memory really used)."""
    rss, pss, stack = 0, 0, [pid]
    while stack:
        current = stack.pop()
        rss += _rss_kib(current)
        pss += _pss_kib(current)
        stack.extend(_children(current))
    return rss / 1024, pss / 1024


@contextmanager
def peak_rss(interval_s: float = 0.05) -> Iterator[dict[str, float]]:
    """Sample this process tree's memory while the block runs; `result["peak_mib"]` holds the peak of
    the summed RSS, `result["peak_pss_mib"]` that of the summed PSS."""
    result = {"peak_mib": 0.0, "peak_pss_mib": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            rss, pss = tree_memory_mib(os.getpid())
            result["peak_mib"] = max(result["peak_mib"], rss)
            result["peak_pss_mib"] = max(result["peak_pss_mib"], pss)
            stop.wait(interval_s)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join()


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_avg_1m_when_written": os.getloadavg()[0],
    }


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(c) for c in header], *[[f"{c:.2f}" if isinstance(c, float) else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2))
    return path
