"""One run at a time per warehouse: an advisory lock file next to the DuckDB file, held for a whole run.

DuckDB itself locks the file only while a connection is open, and each step of a run opens and closes its own;
between two steps another process could slip in and, for example, roll back the batch the first run is loading.
So a run (CLI or Dagster) holds `<warehouse>.lock` from its first step to its last. The lock is `flock`, released by
the kernel when the process ends, however it ends (a `kill -9` leaves no stale lock). It is re-entrant within a
process: the CLI holds it around the Dagster run it starts in-process.

Whoever finds it taken gets `WarehouseBusy`, whose message is the one line the CLI prints.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path


class WarehouseBusy(RuntimeError):
    """Another run (or another program) holds the warehouse; the message is one line."""


_held: dict[str, tuple[int, int]] = {}  # lock path -> (file descriptor, depth)
_guard = threading.Lock()


def lock_path(db_path: Path) -> Path:
    return Path(f"{db_path}.lock")


def acquire(db_path: Path, purpose: str) -> None:
    """Takes the warehouse lock (re-entrant in this process) or raises WarehouseBusy at once."""
    path = lock_path(Path(db_path))
    key = str(path.resolve())
    with _guard:
        if key in _held:
            fd, depth = _held[key]
            _held[key] = (fd, depth + 1)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            message = f"another run holds the warehouse {db_path}{holder}; try again when it has finished"
            raise WarehouseBusy(message) from None
        os.ftruncate(fd, 0)
        info = {"pid": os.getpid(), "purpose": purpose, "since": datetime.now(UTC).isoformat(timespec="seconds")}
        os.pwrite(fd, json.dumps(info).encode(), 0)
        _held[key] = (fd, 1)


def release(db_path: Path) -> None:
    key = str(lock_path(Path(db_path)).resolve())
    with _guard:
        if key not in _held:
            return
        fd, depth = _held[key]
        if depth > 1:
            _held[key] = (fd, depth - 1)
            return
        del _held[key]
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextmanager
def holding_warehouse(db_path: Path, purpose: str) -> Iterator[None]:
    acquire(db_path, purpose)
    try:
        yield
    finally:
        release(db_path)


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return ""
    if not info:
        return ""
    return f" (pid {info.get('pid')}, {info.get('purpose', 'a run')} since {info.get('since')})"
