"""Retrying Replicate calls: which failures are worth another attempt, and how long to wait between them.

Transient failures (429, honouring Retry-After; 5xx; connection errors; timeouts; a short or broken
download) are retried with exponential backoff and full jitter, bounded in attempts and in total time;
anything else fails at once. Time comes from a `Clock`, so tests check the bounds on a clock of their
own instead of the wall clock.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import httpx
from replicate.exceptions import ReplicateError

from vidgen_assets.backends import GenerationFailed
from vidgen_assets.media.runner import MediaError
from vidgen_assets.settings import TOKEN_ENV

T = TypeVar("T")
TRANSIENT_MODEL_ERRORS = (
    "timeout", "timed out", "overloaded", "temporarily", "temporary", "unavailable", "try again",
    "rate limit", "capacity", "queue is full", "connection reset",
)  # fmt: skip

_RESETS_IN = re.compile(r"resets?\s+in\s+~?\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|seconds?|m|min|minutes?)?\b", re.I)


def reset_seconds(detail: str) -> float | None:
    """When a 429's body says the limit resets ("Your rate limit resets in ~30s"): seconds, else None."""
    found = _RESETS_IN.search(detail or "")
    if found is None:
        return None
    value, unit = float(found.group(1)), (found.group(2) or "s").lower()
    return value / 1000 if unit == "ms" else value * 60 if unit.startswith("m") else value


class Clock(Protocol):
    """Where the backend's time comes from."""

    def monotonic(self) -> float: ...

    def time(self) -> float:
        """Seconds since the epoch (what the API's timestamps are compared with)."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class ReplicateFailed(GenerationFailed):
    """A model call failed for good: the message names the model, the prediction and the last error.

    `retryable` is True only when the retries ran out on transient errors (a later run may succeed)."""


class Transient(Exception):
    """A failure worth another attempt (a short download, a wrong content type, a busy server)."""


class Permanent(Exception):
    """A failure another attempt will not fix."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying: attempts and total seconds per operation, backoff with full jitter."""

    attempts: int = 6
    base_s: float = 1.0
    cap_s: float = 30.0
    total_s: float = 300.0
    prediction_attempts: int = 3
    """Predictions created for one request when they fail transiently."""
    prediction_timeout_s: float = 1800.0
    """How long one prediction may run before it is canceled."""

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^attempt)]."""
        return rng.uniform(0.0, min(self.cap_s, self.base_s * 2**attempt))


def is_transient_model_error(error: str) -> bool:
    """Whether a failed prediction's error reads as a passing condition (overloaded, timed out...)."""
    text = error.lower()
    return any(word in text for word in TRANSIENT_MODEL_ERRORS)


def classify(exc: Exception) -> tuple[bool, str]:
    """(transient?, what happened) for an exception from a call; anything unknown is re-raised."""
    if isinstance(exc, ReplicateError):
        status = exc.status or 0
        text = f"HTTP {status}: {exc.detail or exc.title or 'no detail'}"
        if status in (401, 403):
            return False, f"{text} (check {TOKEN_ENV})"
        return status == 429 or status >= 500, text
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        return status == 429 or status >= 500, f"HTTP {status}: {exc.response.text[:200] or 'no detail'}"
    if isinstance(exc, httpx.TimeoutException):
        return True, f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.TransportError):
        return True, f"connection error ({type(exc).__name__}: {exc})"
    if isinstance(exc, Transient):
        return True, str(exc)
    if isinstance(exc, Permanent | MediaError):
        return False, str(exc).splitlines()[0]
    raise exc


class Retrier:
    """Runs operations under a `RetryPolicy` on a `Clock`; `on_response` (an httpx response hook) notes
    a 429's Retry-After for the attempt in progress on this thread."""

    def __init__(
        self,
        policy: RetryPolicy,
        clock: Clock,
        rng: random.Random,
        redact: Callable[[str], str],
        log: Callable[..., None],
        label: str = "replicate model",
        failure: type[GenerationFailed] = ReplicateFailed,
    ) -> None:
        self.label = label
        """What a message calls the thing being called (`replicate model`, `comfyui server`)."""
        self.failure = failure
        self.policy = policy
        self.clock = clock
        self.rng = rng
        self.redact = redact
        self.log = log
        self._local = threading.local()

    def on_response(self, response: httpx.Response) -> None:
        if response.status_code == 429:
            value = response.headers.get("retry-after", "").strip()
            self._local.retry_after = float(value) if value.replace(".", "", 1).isdigit() else None

    def run(self, model_id: str, what: str, op: Callable[[], T], prediction_id: str = "") -> T:
        """`op`, retried on transient failures with exponential backoff and full jitter, within bounds."""
        start = self.clock.monotonic()
        last = ""
        attempt = 0
        while True:
            attempt += 1
            self._local.retry_after = None
            try:
                return op()
            except Exception as exc:  # classified below; anything unknown is re-raised
                transient, text = classify(exc)
                last = self.redact(text)
                if isinstance(exc, ReplicateError) and exc.status == 429 and self._local.retry_after is None:
                    # No Retry-After header, but the body may say when the limit resets.
                    self._local.retry_after = reset_seconds(str(exc.detail or exc.title or ""))
                if not transient:
                    failure = self._failure(model_id, what, prediction_id, attempt, start, last)
                    raise self.failure(failure, False) from None
            if attempt >= self.policy.attempts:
                break
            delay = self.policy.delay(attempt - 1, self.rng)
            retry_after = getattr(self._local, "retry_after", None)
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.policy.cap_s))
            if self.clock.monotonic() - start + delay > self.policy.total_s:
                break
            self.log(
                "%s: %s failed (%s); retrying in %.2f s (attempt %d/%d)",
                model_id, what, last, delay, attempt + 1, self.policy.attempts,
            )  # fmt: skip
            self.clock.sleep(delay)
        # Out of retries on transient errors: a later run may succeed, unless a prediction was already paid for.
        raise self.failure(self._failure(model_id, what, prediction_id, attempt, start, last), not prediction_id)

    def _failure(self, model_id: str, what: str, prediction_id: str, attempts: int, start: float, last: str) -> str:
        where = f" (prediction {prediction_id})" if prediction_id else ""
        return (
            f"{self.label} {model_id}: could not {what}{where} after {attempts} attempt(s) in "
            f"{self.clock.monotonic() - start:.1f} s; last error: {last}"
        )
