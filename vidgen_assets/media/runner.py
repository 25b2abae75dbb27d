"""The one place where media commands run.

Commands are built as data (lists of strings) by the pure functions in `commands.py`; this module finds
the ffmpeg binary and runs them, turning any failure into a `MediaError` that carries the command and
the tail of ffmpeg's stderr. On Linux every ffmpeg is started with `PR_SET_PDEATHSIG`: the kernel kills
it when the thread that started it dies, so a render killed with SIGKILL leaves no ffmpeg behind.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterable, Sequence
from functools import cache

from vidgen_assets.settings import FFMPEG_ENV, active

STDERR_TAIL = 4000
PR_SET_PDEATHSIG = 1
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
"""Resolved once, here: the child calls it between fork and exec, where nothing else should be loaded."""


def _die_with_parent() -> None:
    """In an ffmpeg child before exec: have the kernel SIGKILL it once its parent thread is gone."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class MediaError(RuntimeError):
    """An ffmpeg command failed. `command` and `stderr` say which and why."""

    def __init__(self, message: str, command: Sequence[str], stderr: str = "") -> None:
        self.command = list(command)
        self.stderr = stderr
        tail = stderr[-STDERR_TAIL:].strip()
        super().__init__(f"{message}\ncommand: {' '.join(self.command)}" + (f"\nstderr:\n{tail}" if tail else ""))


def ffmpeg_exe() -> str:
    """The ffmpeg binary: the active settings' `ffmpeg` (`$VIDGEN_FFMPEG`) if set, else the one shipped
    inside `imageio-ffmpeg`."""
    return _ffmpeg_exe(active().ffmpeg)


@cache
def _ffmpeg_exe(override: str | None) -> str:
    if override:
        found = shutil.which(override) or (override if os.path.isfile(override) else None)
        if not found:
            raise MediaError(f"{FFMPEG_ENV}={override!r} is not an executable file", [override])
        return found
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def run(args: Sequence[str], stdin_chunks: Iterable[bytes] | None = None, timeout: float | None = None) -> str:
    """Run `ffmpeg <args>` and return its stderr (ffmpeg's log). Raise `MediaError` on failure.

    `stdin_chunks`, when given, is streamed to ffmpeg's standard input (raw frames, for example).
    """
    command = [ffmpeg_exe(), "-hide_banner", "-y", *(["-nostdin"] if stdin_chunks is None else []), *args]
    if stdin_chunks is None:
        try:
            done = subprocess.run(
                command, capture_output=True, timeout=timeout, check=False, preexec_fn=_die_with_parent
            )
        except subprocess.TimeoutExpired as exc:
            raise MediaError(f"ffmpeg timed out after {timeout}s", command) from exc
        stderr = done.stderr.decode("utf-8", "replace")
        if done.returncode != 0:
            raise MediaError(f"ffmpeg exited with code {done.returncode}", command, stderr)
        return stderr
    return _run_streaming(command, stdin_chunks, timeout)


def _run_streaming(command: list[str], stdin_chunks: Iterable[bytes], timeout: float | None) -> str:
    import tempfile

    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err, preexec_fn=_die_with_parent
        )
        assert proc.stdin is not None
        broken = False
        try:
            for chunk in stdin_chunks:
                proc.stdin.write(chunk)
        except BrokenPipeError:
            broken = True
        except BaseException:
            # The producer failed (a bad frame, an interrupt): stop ffmpeg before it writes more.
            proc.kill()
            proc.wait()
            raise
        finally:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                broken = True
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            proc.wait()
            raise MediaError(f"ffmpeg timed out after {timeout}s", command) from exc
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    if code != 0 or broken:
        raise MediaError(f"ffmpeg exited with code {code}", command, stderr)
    return stderr
