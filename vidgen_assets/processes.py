"""The CLI owns its processes: every ffmpeg its render starts, and the runs it executes.

- **Signals.** `run_owned` runs a render in a thread while the main thread waits for SIGINT/SIGTERM
  (Dagster's in-process execution swallows them in the main thread). On one, the caller stops every
  process it started (`stop_children`), marks its in-flight runs canceled (`cancel_runs`), prints one
  line and exits 130/143.
- **A parent that dies without a word** (SIGKILL, the OOM killer). Every ffmpeg is started with
  `PR_SET_PDEATHSIG` (`media.runner`): the kernel kills it with the CLI.
- **Runs nobody owns.** Every run the CLI executes is tagged with the process that executes it (host,
  pid, that pid's start time: a pid can be reused) and the CLI session. `fail_orphaned_runs`, at the start
  of the next `vidgen render`, marks runs still "in progress" whose process is gone as failed. Runs the
  daemon launches carry no such tags and are left to Dagster's run monitoring (see `dagster.yaml`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import FrameType
from typing import TextIO, TypeVar

import dagster as dg
import psutil

T = TypeVar("T")

HOST_TAG = "vidgen/host"
PID_TAG = "vidgen/pid"
PID_STARTED_TAG = "vidgen/pid_started"
SESSION_TAG = "vidgen/session"

IN_FLIGHT = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
STOP_GRACE_S = 5.0


@dataclass(frozen=True)
class Owner:
    """A process, told apart from a later one that reuses its pid by its start time."""

    host: str
    pid: int
    started: float

    @classmethod
    def current(cls) -> Owner:
        return cls(socket.gethostname(), os.getpid(), psutil.Process().create_time())

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> Owner | None:
        try:
            return cls(tags[HOST_TAG], int(tags[PID_TAG]), float(tags[PID_STARTED_TAG]))
        except (KeyError, ValueError):
            return None

    def tags(self) -> dict[str, str]:
        return {HOST_TAG: self.host, PID_TAG: str(self.pid), PID_STARTED_TAG: repr(self.started)}

    def alive(self) -> bool | None:
        """Whether the process still runs; None when it ran on another host (this one cannot tell)."""
        if self.host != socket.gethostname():
            return None
        try:
            process = psutil.Process(self.pid)
            return abs(process.create_time() - self.started) < 0.01 and process.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False


def run_tags(session: str) -> dict[str, str]:
    """The tags of a run this process executes for the CLI session `session`."""
    return {**Owner.current().tags(), SESSION_TAG: session}


def _in_flight(instance: dg.DagsterInstance, tags: dict[str, str] | None = None) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(statuses=IN_FLIGHT, tags=tags or {})))


def fail_orphaned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed every run this host's vidgen processes left "in progress" and that no live process
    owns any more (its CLI or worker was killed). Returns their run ids."""
    failed = []
    for run in _in_flight(instance):
        owner = Owner.from_tags(dict(run.tags))
        if owner is None or owner.alive() is not False:
            continue
        instance.report_run_failed(
            run, f"the process that ran this run (pid {owner.pid} on {owner.host}) is gone: killed or crashed"
        )
        failed.append(run.run_id)
    return failed


def session_runs(instance: dg.DagsterInstance, session: str) -> list[str]:
    """The ids of the CLI session's runs in progress."""
    return [run.run_id for run in _in_flight(instance, {SESSION_TAG: session})]


def cancel_runs(instance: dg.DagsterInstance, session: str, reason: str, also: Iterable[str] = ()) -> list[str]:
    """Mark canceled every run of the CLI session `session` in progress, and the runs `also` (those in
    progress when the stop began) unless they succeeded: stopping a run's processes can make it fail
    first, and it was canceled."""
    runs = {run.run_id: run for run in _in_flight(instance, {SESSION_TAG: session})}
    for run_id in also:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status not in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.CANCELED):
            runs.setdefault(run_id, run)
    for run in runs.values():
        instance.report_run_canceled(run, reason)
    return sorted(runs)


_TERMINAL_FD: int | None = None
"""A copy of file descriptor 2 as it was when the CLI started (`keep_terminal`). While a step runs in
this process, Dagster's compute-log capture points fd 1 and 2 at files (and echoes them with `tail`)."""


def keep_terminal() -> None:
    """Keep a copy of the terminal's stderr for the one line a stop prints; call it before any run."""
    global _TERMINAL_FD
    if _TERMINAL_FD is None:
        _TERMINAL_FD = os.dup(2)


def mute_output() -> TextIO:
    """Send this process's further `sys.stdout`/`sys.stderr` output (a stopped render thread's) nowhere;
    return the terminal's stderr (as kept by `keep_terminal`), for the one line a stop prints."""
    sys.stdout.flush()
    real = open(_TERMINAL_FD, "w", closefd=False) if _TERMINAL_FD is not None else sys.stderr  # noqa: SIM115
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (for the rest of the process's life)
    return real


def stop_children(grace_s: float = STOP_GRACE_S) -> int:
    """Kill every process this one started, and theirs (ffmpeg), and wait for them. Returns how many
    were killed."""
    children = psutil.Process().children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(children, timeout=grace_s)
    return len(children)


class _Signalled(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def run_owned(work: Callable[[], T], on_signal: Callable[[int], None]) -> T:
    """Run `work` in a thread; on SIGINT or SIGTERM call `on_signal(signum)` from the main thread (it
    is expected to clean up and exit). In the main thread, Dagster's in-process execution would take
    the signals itself and finish its step first."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:
            outcome["error"] = exc

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise _Signalled(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        thread = threading.Thread(target=target, name="vidgen-render", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(0.2)
    except _Signalled as got:
        on_signal(got.signum)
        raise SystemExit(128 + got.signum) from None
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def exit_code(signum: int) -> int:
    """The shell's code for a process ended by `signum` (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + signum
