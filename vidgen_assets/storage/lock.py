"""One writer at a time: a named lock on the artifact store, released when its owner dies.

- **Local disk**: an OS file lock (`filelock`, `flock`) on `<data>/locks/<name>.lock`: the kernel drops
  it when the process that holds it exits, however it exits. Beside it, `<name>.owner.json` says who
  holds it (for the message a second writer gets).
- **S3**: the object `locks/<name>.json`, created with a conditional write (`If-None-Match: *`, so of
  two writers exactly one creates it), holding its owner and an expiry that a heartbeat thread pushes
  forward (`If-Match` on the lock's own ETag). A lock whose owner stopped renewing it (killed) expires
  after `ttl_s`, or at once when its owner ran on this host and is gone; a new writer then takes it over
  with a conditional write on the stale lock's ETag, so only one can. A renewal that fails (the object
  was taken over or removed, or S3 stayed unreachable through the client's own retries) marks the lock
  lost: from then on every write this process makes under the video's folder on that store raises
  `LockLost` (what was stored before stays), so an owner that may no longer be the only writer stops.

`video_lock` is the lock of one video (held by a `vidgen render` for the whole render, so a second one
is refused), `artifact_lock` the lock of one output (held while it is written, so writers of the same
artifact, e.g. the CLI and the daemon, take turns).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil
from filelock import FileLock, Timeout

from vidgen_assets.storage.store import ArtifactStore, LocalStore, check_key

LOCK_PREFIX = "locks"
TTL_S = 60.0
POLL_S = 0.5


class Locked(RuntimeError):
    """Another writer holds the lock."""


class LockLost(RuntimeError):
    """A lock this process held could not be renewed: another writer may hold it now, so its owner
    writes nothing more (what it stored before is kept)."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: enough for a person to find the process."""

    what: str
    host: str
    pid: int
    pid_started: float
    since: str
    expires: float = 0.0
    """S3 only: a Unix time after which the lock is stale unless renewed."""

    @classmethod
    def me(cls, what: str, ttl_s: float = 0.0) -> Holder:
        process = psutil.Process()
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        return cls(what, socket.gethostname(), process.pid, process.create_time(), stamp, time.time() + ttl_s)

    def describe(self) -> str:
        return f"{self.what}, pid {self.pid} on {self.host}, since {self.since}"

    def dead(self) -> bool:
        """Whether the holder ran on this host and is gone (a pid reused by another process included)."""
        if self.host != socket.gethostname():
            return False
        try:
            return abs(psutil.Process(self.pid).create_time() - self.pid_started) >= 0.01
        except psutil.Error:
            return True

    @classmethod
    def parse(cls, data: bytes) -> Holder | None:
        try:
            fields = json.loads(data)
            return cls(**{k: fields[k] for k in cls.__dataclass_fields__ if k in fields})
        except (ValueError, TypeError, KeyError):
            return None


class StoreLock(ABC):
    """A lock on the store: `acquire` (waiting up to `wait_s`, then `Locked`) and `release`; a context
    manager too."""

    def __init__(self, name: str, what: str, wait_s: float) -> None:
        self.name = check_key(name)
        self.what = what
        self.wait_s = wait_s

    @abstractmethod
    def acquire(self) -> None: ...

    @abstractmethod
    def release(self) -> None: ...

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()

    def _refusal(self, holder: Holder | None) -> Locked:
        who = holder.describe() if holder is not None else "another process"
        waited = f" (waited {self.wait_s:g} s)" if self.wait_s > 0 else ""
        return Locked(f"{self.name} is being written by {who}{waited}; wait for it to finish, or stop it")


class LocalLock(StoreLock):
    def __init__(self, root: Path, name: str, what: str, wait_s: float) -> None:
        super().__init__(name, what, wait_s)
        base = root / LOCK_PREFIX / name
        self.owner_file = base.with_name(base.name + ".owner.json")
        self._lock = FileLock(base.with_name(base.name + ".lock"), timeout=wait_s)

    def acquire(self) -> None:
        self.owner_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout:
            raise self._refusal(self._holder()) from None
        self.owner_file.write_text(json.dumps(asdict(Holder.me(self.what))))

    def _holder(self) -> Holder | None:
        try:
            return Holder.parse(self.owner_file.read_bytes())
        except OSError:
            return None

    def release(self) -> None:
        if self._lock.is_locked:
            self.owner_file.unlink(missing_ok=True)
            self._lock.release()


class S3Lock(StoreLock):
    """A lock object on S3 with a heartbeat; see the module's docstring."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        key: str,
        name: str,
        what: str,
        wait_s: float,
        ttl_s: float = TTL_S,
        guards: str = "",
    ) -> None:
        super().__init__(name, what, wait_s)
        self.client, self.bucket, self.key, self.ttl_s = client, bucket, key, ttl_s
        self.guards = guards
        """The object keys this lock covers (`<prefix>/videos/<id>/`): a write under them fails once it is lost."""
        self.lost: str | None = None
        """Why the lock was lost (its renewal failed), None while it is held or free."""
        self._etag: str | None = None
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def _put(self, condition: dict[str, str]) -> str | None:
        """Write our holder record under `condition`; its ETag, or None when the condition failed."""
        from botocore.exceptions import ClientError

        body = json.dumps(asdict(Holder.me(self.what, self.ttl_s))).encode("utf-8")
        try:
            response = self.client.put_object(
                Bucket=self.bucket, Key=self.key, Body=body, ContentType="application/json", **condition
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409", "NoSuchKey", "404"):
                return None
            raise
        return str(response["ETag"])

    def _current(self) -> tuple[Holder | None, str | None]:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) in ("NoSuchKey", "404"):
                return None, None
            raise
        return Holder.parse(response["Body"].read()), str(response["ETag"])

    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait_s
        while True:
            etag = self._put({"IfNoneMatch": "*"})
            holder: Holder | None = None
            if etag is None:
                holder, current = self._current()
                # A live owner on this host keeps its lock even when a loaded machine delayed its heartbeat;
                # the expiry decides only for owners elsewhere.
                here = holder is not None and holder.host == socket.gethostname()
                stale = holder is None or holder.dead() or (not here and holder.expires < time.time())
                if current is not None and stale:
                    etag = self._put({"IfMatch": current})  # take over a dead owner's lock; one taker wins
            if etag is not None:
                self._etag, self.lost = etag, None
                with _HELD_GUARD:
                    _HELD.append(self)
                self._stop.clear()
                self._heartbeat = threading.Thread(target=self._beat, name=f"lock {self.name}", daemon=True)
                self._heartbeat.start()
                return
            if time.monotonic() >= deadline:
                raise self._refusal(holder)
            time.sleep(POLL_S)

    def _beat(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        while not self._stop.wait(self.ttl_s / 4):
            if self._etag is None:
                return
            try:
                etag = self._put({"IfMatch": self._etag})
            except (BotoCoreError, ClientError) as exc:  # after the client's own retries
                self.lost = f"renewing it failed: {exc}"
                return
            if etag is None:
                self.lost = "it was taken over or removed by another writer (presumed dead)"
                return
            self._etag = etag

    def check(self) -> None:
        """Raise `LockLost` when the lock was lost while held."""
        if self.lost is not None:
            video = self.guards.rstrip("/").rsplit("/", 1)[-1]
            raise LockLost(
                f"video {video!r}: lost the lock s3://{self.bucket}/{self.key} ({self.what}): {self.lost}; "
                "stopped writing (what was stored before is kept): render it again to go on"
            )

    def release(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        with _HELD_GUARD:
            if self in _HELD:
                _HELD.remove(self)
        if self._etag is None:
            return
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        etag, self._etag = self._etag, None
        if self.lost is not None:
            return  # not ours any more: another writer's lock, or none
        with contextlib.suppress(ClientError, BotoCoreError):  # taken over meanwhile: not ours to delete
            self.client.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=etag)


_HELD: list[S3Lock] = []
"""The S3 locks this process holds now."""
_HELD_GUARD = threading.Lock()


def check_s3_write(bucket: str, key: str) -> None:
    """Raise `LockLost` when a lock this process holds over the object `key` of `bucket` was lost: what
    `S3Store` does before every write and delete."""
    with _HELD_GUARD:
        held = [lock for lock in _HELD if lock.bucket == bucket and lock.guards and key.startswith(lock.guards)]
    for lock in held:
        lock.check()


def store_lock(store: ArtifactStore, name: str, what: str, wait_s: float = 0.0, video_id: str = "") -> StoreLock:
    """The lock `name` (a key under `locks/`) on this store; on S3, once lost it stops this process's
    writes under `videos/<video_id>/`."""
    if isinstance(store, LocalStore):
        return LocalLock(store.root, name, what, wait_s)
    from vidgen_assets.storage.s3 import S3Store

    if isinstance(store, S3Store):
        key = "/".join(p for p in (store.prefix, LOCK_PREFIX, f"{name}.json") if p)
        guards = "/".join(p for p in (store.prefix, "videos", video_id) if p) + "/" if video_id else ""
        return S3Lock(store.client, store.bucket, key, name, what, wait_s, guards=guards)
    raise TypeError(f"no lock for a {type(store).__name__}")


def video_lock(store: ArtifactStore, video_id: str, what: str, wait_s: float = 0.0) -> StoreLock:
    """The lock of one video: one render writes it at a time."""
    return store_lock(store, f"videos/{video_id}", what, wait_s, video_id)


def artifact_lock(store: ArtifactStore, video_id: str, manifest: str, what: str, wait_s: float = 600.0) -> StoreLock:
    """The lock of one output of a video (named by its manifest), held while it is written."""
    return store_lock(store, f"artifacts/{video_id}/{manifest}", what, wait_s, video_id)
