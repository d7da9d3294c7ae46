"""The one place that opens DuckDB: the warehouse file, a published snapshot, or an in-memory database.

Every connection gets the same configuration (threads and memory limit from the settings, no progress bar: the
output goes to batch logs, not a terminal). Readers open read-only. When another process holds the file for
writing, DuckDB's "could not set lock" error becomes `WarehouseBusy`, whose message is the one line the CLI prints.
A later engine (a Spark session, say) sits behind `Warehouse.connect` without its callers changing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.warehouse.lock import WarehouseBusy

if TYPE_CHECKING:
    from pipelines.settings import Settings


@dataclass(frozen=True)
class Warehouse:
    """The warehouse file and how to open it."""

    path: Path
    threads: int = 0  # 0: DuckDB's default (every core)
    memory_limit: str = ""  # "": DuckDB's default (80 % of RAM)

    @classmethod
    def from_settings(cls, settings: Settings) -> Warehouse:
        return cls(Path(settings.db_path), settings.duckdb_threads, settings.duckdb_memory_limit)

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """A connection to the warehouse file (created with its folder when missing, unless read-only)."""
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        return connect(self.path, read_only=read_only, threads=self.threads, memory_limit=self.memory_limit)

    def exists(self) -> bool:
        return self.path.exists()


def connect(
    path: Path | str | None = None, *, read_only: bool = False, threads: int = 0, memory_limit: str = ""
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to `path` (None: a private in-memory database); use it as a context manager."""
    config: dict[str, str | int] = {}
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    try:
        con = duckdb.connect(":memory:" if path is None else str(path), read_only=read_only, config=config)
    except duckdb.Error as exc:
        busy = busy_from_duckdb(exc, Path(str(path)))
        if busy is None:
            raise
        raise busy from exc
    con.execute("set enable_progress_bar = false")
    return con


def busy_from_duckdb(exc: BaseException, db_path: Path) -> WarehouseBusy | None:
    """The one-line WarehouseBusy for DuckDB's "Could not set lock on file" error (another program has the file
    open for writing), else None."""
    if isinstance(exc, duckdb.Error) and "lock" in str(exc).lower():
        detail = str(exc).splitlines()[0]
        conflict = detail.split("Conflicting lock is held in", 1)
        who = f" (held by {conflict[1].strip().rstrip('.')})" if len(conflict) == 2 else ""
        return WarehouseBusy(f"another process holds the warehouse {db_path}{who}; try again when it has finished")
    return None
