"""A pool of ComfyUI servers: one prompt per server at a time, the next job to the next free server.

Every backend object of one process that names the same servers shares one pool (`shared_pool`): the
chunk pairs run in threads, each with a backend of its own, and all of them check servers out of it.
A server that stopped answering is taken out of the pool for `down_s` seconds (its work goes to the
others); after that it is tried again. The bookkeeping (`uses`, `events`) is what a render reports:
which server made what, which stopped answering and where its work went.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from vidgen_assets.backends.comfyui_client import ComfyClient, ComfyUIFailed, display_url
from vidgen_assets.backends.replicate_retry import Clock, SystemClock

DOWN_S = 60.0
"""How long a server that stopped answering stays out of the pool before it is tried again."""


class NoServer(ComfyUIFailed):
    """Every server of the pool is down (or already failed this job)."""


@dataclass
class ServerPool:
    """Thread-safe checkout of free servers; `down` ones are skipped until their time is up."""

    servers: tuple[str, ...]
    clock: Clock = field(default_factory=SystemClock)
    down_s: float = DOWN_S
    client_id: str = field(default_factory=lambda: f"vidgen-{uuid.uuid4().hex[:12]}")

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self._busy: set[str] = set()
        self._down: dict[str, tuple[float, str]] = {}
        self.uses: dict[str, int] = {s: 0 for s in self.servers}
        """Prompts each server was given."""
        self.events: list[str] = []
        """What happened to the pool, in order (a server down, back up), for reports and tests."""
        self._clients = {s: ComfyClient(s, self.client_id, self.clock) for s in self.servers}

    def client(self, server: str) -> ComfyClient:
        return self._clients[server]

    def _is_down(self, server: str) -> bool:
        down = self._down.get(server)
        if down is None:
            return False
        if self.clock.monotonic() >= down[0]:
            del self._down[server]
            self.events.append(f"{display_url(server)} back in the pool")
            return False
        return True

    def down(self) -> dict[str, str]:
        """The servers out of the pool now, and why."""
        with self._cond:
            return {display_url(s): why for s, (_, why) in self._down.items() if self._is_down(s)}

    def checkout(self, avoid: Iterable[str] = (), wait_s: float = 0.5) -> str:
        """A free server that is up (and not in `avoid`), marked busy: the least used first, then in the
        spec's order. Waits while all of them are busy; `NoServer` when none is up."""
        avoided = set(avoid)
        with self._cond:
            while True:
                up = [s for s in self.servers if not self._is_down(s) and s not in avoided]
                if not up:
                    gone = {display_url(s): why for s, (_, why) in self._down.items()}
                    tried = sorted(display_url(s) for s in avoided - set(self._down))
                    raise NoServer(
                        "no ComfyUI server left for this job: "
                        + "; ".join([*(f"{s} stopped answering ({why})" for s, why in gone.items()),
                                     *(f"{s} already failed it" for s in tried)])
                        + f" (servers: {', '.join(display_url(s) for s in self.servers)})",
                        retryable=True,
                    )  # fmt: skip
                free = [s for s in up if s not in self._busy]
                if free:
                    server = min(free, key=lambda s: (self.uses[s], self.servers.index(s)))
                    self._busy.add(server)
                    self.uses[server] += 1
                    return server
                self._cond.wait(wait_s)

    def release(self, server: str) -> None:
        with self._cond:
            self._busy.discard(server)
            self._cond.notify_all()

    def mark_down(self, server: str, reason: str) -> None:
        """Take `server` out of the pool for `down_s` seconds."""
        with self._cond:
            if not self._is_down(server):
                self.events.append(f"{display_url(server)} stopped answering: {reason}")
            self._down[server] = (self.clock.monotonic() + self.down_s, reason)
            self._cond.notify_all()

    def probe(self, say: Callable[[str], None] | None = None) -> dict[str, str]:
        """Ask every server for its queue; the ones that do not answer are marked down. Returns them
        with why (an empty dict: all answer)."""
        failed: dict[str, str] = {}

        def ask(server: str) -> None:
            try:
                self._clients[server].ping()
            except ComfyUIFailed as exc:
                failed[server] = str(exc).rsplit("last error: ", 1)[-1]

        threads = [threading.Thread(target=ask, args=(s,), daemon=True) for s in self.servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for server, why in failed.items():
            self.mark_down(server, why)
            if say is not None:
                say(f"comfyui server {display_url(server)} does not answer ({why}): left out of the pool")
        return {display_url(s): why for s, why in failed.items()}


_POOLS: dict[tuple[str, ...], ServerPool] = {}
_POOLS_LOCK = threading.Lock()


def shared_pool(servers: Sequence[str]) -> ServerPool:
    """The one pool of this process for these servers (made on first use)."""
    key = tuple(s.rstrip("/") for s in servers)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = ServerPool(key)
        return pool
