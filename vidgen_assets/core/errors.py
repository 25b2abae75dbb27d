"""A failure told in a few lines: what a terminal, a run's failure and a pair table show."""

from __future__ import annotations

STDERR_LINES = 3
"""The last lines of a tool's stderr (ffmpeg's) that a failure's summary shows."""
SILENT_KINDS = frozenset({"Failure"})
"""Exception classes not worth naming: Dagster's `Failure` only carries the step's own words."""
MAX_LINES = 12
"""At most this many lines of a message without a stderr section (a step's failure listing its pairs)."""


def short_cause(message: str) -> str:
    """A failure's message in a few lines: its first line (class name without its module, none for a
    `SILENT_KINDS` one), then the last
    lines of the stderr it carries (`stderr:` and what follows), or, without one, its next lines."""
    head, _, rest = message.strip().partition("\n")
    name, sep, text = head.partition(": ")
    if sep and " " not in name:
        kind = name.rsplit(".", 1)[-1]
        head = text if kind in SILENT_KINDS else f"{kind}: {text}"
    _, found, stderr = rest.rpartition("stderr:\n")
    if found:
        tail = [line.strip() for line in stderr.splitlines() if line.strip()][-STDERR_LINES:]
        return "\n".join([head, *(f"  {line}" for line in tail)])
    lines = [line for line in rest.splitlines() if line.strip() and not line.startswith("command: ")]
    return "\n".join([head, *lines[: MAX_LINES - 1]])


def exception_cause(exc: BaseException) -> str:
    """An exception as `short_cause` tells it, with its class name."""
    return short_cause(f"{type(exc).__name__}: {exc}")
