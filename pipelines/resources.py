"""The DuckDB warehouse resource: one embedded file, opened per step and closed again.

DuckDB allows one writing process per file, so the code location runs every step in one process
(see `definitions.py`) and never keeps a connection open between steps. The run holds the warehouse lock
(`warehouse_lock.py`) from its first step to its last, so no other run can slip in between two steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.warehouse_lock import acquire, busy_from_duckdb, release


class DuckDBWarehouse(dg.ConfigurableResource):
    """Connections to the warehouse file."""

    path: str
    threads: int = 0
    memory_limit: str = ""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Raises WarehouseBusy (the run fails with that one line) when another run holds the warehouse.
        acquire(Path(self.path), f"run {context.run_id or 'without id'}")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        release(Path(self.path))

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, str | int] = {}
        if self.threads:
            config["threads"] = self.threads
        if self.memory_limit:
            config["memory_limit"] = self.memory_limit
        try:
            con = duckdb.connect(self.path, read_only=read_only, config=config)
        except duckdb.Error as exc:
            busy = busy_from_duckdb(exc, Path(self.path))
            if busy is None:
                raise
            raise busy from exc
        con.execute("set enable_progress_bar = false")  # batch logs, not a terminal
        try:
            yield con
        finally:
            con.close()


class PipelinePaths(dg.ConfigurableResource):
    """Where batches land and where reports, published snapshots and run summaries go (from Settings), and the
    site's code-system map when it has one, and the batch acceptance policy that goes with the landing folder."""

    landing_dir: str
    reports_dir: str
    published_dir: str
    runs_dir: str
    key_file: str
    code_system_map_file: str = ""  # the site's SYSTEM labels ("" = the project's only)
    max_quarantine_share: float = 0.2  # Settings.max_quarantine_share
    allow_external_symlinks: bool = False  # Settings.allow_external_symlinks

    @classmethod
    def from_settings(cls, settings: Settings) -> PipelinePaths:  # noqa: F821 (import cycle)
        return cls(
            landing_dir=str(settings.landing_dir),
            reports_dir=str(settings.reports_dir),
            published_dir=str(settings.published_dir),
            runs_dir=str(settings.runs_dir),
            key_file=str(settings.key_file),
            code_system_map_file=str(settings.code_system_map_file or ""),
            max_quarantine_share=settings.max_quarantine_share,
            allow_external_symlinks=settings.allow_external_symlinks,
        )

    @property
    def code_system_map(self) -> Path | None:
        return Path(self.code_system_map_file) if self.code_system_map_file else None
