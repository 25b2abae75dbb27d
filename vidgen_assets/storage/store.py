"""The artifact store: a small interface with a local-directory implementation.

Every write is atomic (a temp file in the destination directory, then `os.replace`), so a reader never
sees half a file and an interrupted write leaves nothing a later run would trust.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

FILE_MODE = 0o644


class StoreError(RuntimeError):
    """The store cannot be used (missing, unreachable, not writable)."""


def check_key(key: str) -> str:
    """Reject keys that could escape the root."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or ".." in path.parts or key.endswith("/"):
        raise ValueError(f"invalid store key: {key!r}")
    return key


class ArtifactStore(ABC):
    """Where artifacts live. Keys are relative POSIX paths (see `layout.py`)."""

    @abstractmethod
    def put_file(self, key: str, src: Path) -> None:
        """Store the file at `src` under `key`, whole or not at all."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """The object's bytes; FileNotFoundError when absent."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def local_path(self, key: str) -> Path:
        """A local file with the object's content (the file itself for a local store)."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; nothing happens when it is absent."""

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Keys under `prefix`, sorted."""

    @abstractmethod
    def uri(self, key: str) -> str:
        """Where a person finds the object (a path or an s3:// URI)."""

    def append_line(self, key: str, line: str) -> None:
        """Append one line to a small log object."""
        old = self.get_bytes(key) if self.exists(key) else b""
        self.put_bytes(key, old + line.rstrip("\n").encode("utf-8") + b"\n")

    def append_log(self, key: str, *fields: str) -> None:
        """Append a tab-separated, UTC-timestamped record."""
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        self.append_line(key, "\t".join((stamp, *fields)))


class LocalStore(ArtifactStore):
    """A directory on local disk."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _atomic(self, key: str) -> tuple[Path, Path]:
        dest = self._path(key)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {dest.parent}: {exc}") from exc
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        os.fchmod(fd, FILE_MODE)  # mkstemp makes 0600; artifacts are for people to open
        os.close(fd)
        return dest, Path(tmp)

    def put_file(self, key: str, src: Path) -> None:
        dest, tmp = self._atomic(key)
        if Path(src).resolve() == dest.resolve():
            tmp.unlink()
            return
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def put_bytes(self, key: str, data: bytes) -> None:
        dest, tmp = self._atomic(key)
        try:
            tmp.write_bytes(data)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"no artifact at {path}")
        return path

    def list(self, prefix: str) -> list[str]:
        base = self.root / prefix
        start = base if base.is_dir() or not prefix else base.parent
        if not start.is_dir():
            return []
        keys = (p.relative_to(self.root).as_posix() for p in start.rglob("*") if p.is_file())
        return sorted(k for k in keys if k.startswith(prefix) and not k.endswith(".part"))

    def uri(self, key: str) -> str:
        return str(self._path(key.rstrip("/")))
