"""The DuckDB warehouse resource: one embedded file, opened per step and closed again.

DuckDB allows one writing process per file, so the code location runs every step in one process
(see `definitions.py`) and never keeps a connection open between steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb


class DuckDBWarehouse(dg.ConfigurableResource):
    """Connections to the warehouse file."""

    path: str
    threads: int = 0
    memory_limit: str = ""

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, str | int] = {}
        if self.threads:
            config["threads"] = self.threads
        if self.memory_limit:
            config["memory_limit"] = self.memory_limit
        con = duckdb.connect(self.path, read_only=read_only, config=config)
        con.execute("set enable_progress_bar = false")  # batch logs, not a terminal
        try:
            yield con
        finally:
            con.close()


class PipelinePaths(dg.ConfigurableResource):
    """Where batches land and where reports, published snapshots and run summaries go (from Settings), and the
    site's code-system map when it has one."""

    landing_dir: str
    reports_dir: str
    published_dir: str
    runs_dir: str
    key_file: str
    code_system_map_file: str = ""  # the site's SYSTEM labels ("" = the project's only)

    @classmethod
    def from_settings(cls, settings: Settings) -> PipelinePaths:  # noqa: F821 (import cycle)
        return cls(
            landing_dir=str(settings.landing_dir),
            reports_dir=str(settings.reports_dir),
            published_dir=str(settings.published_dir),
            runs_dir=str(settings.runs_dir),
            key_file=str(settings.key_file),
            code_system_map_file=str(settings.code_system_map_file or ""),
        )

    @property
    def code_system_map(self) -> Path | None:
        return Path(self.code_system_map_file) if self.code_system_map_file else None
