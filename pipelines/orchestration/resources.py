"""The resources every asset gets: the warehouse (through the warehouse door) and the settings it needs.

DuckDB allows one writing process per file, so the code location runs every step in one process (see
`definitions.py`). The run holds the warehouse lock (`pipelines/warehouse/lock.py`) from its first step to its last,
so no other run can slip in between two steps.

The run also holds the database open from its first step to its last: each step's connection is a cursor of the
run's connection. Opening the file and closing it (which checkpoints the WAL into the file) once per step cost
~60 ms each, some 3 s of a tiny batch's 50 steps; now the file is opened once and checkpointed once, at the end
of the run. Every commit still goes to the WAL first, so a killed run loses nothing it committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from pipelines import EXPECTATIONS_DIR
from pipelines.settings import Settings
from pipelines.warehouse import Warehouse
from pipelines.warehouse.lock import acquire, release


class DuckDBWarehouse(dg.ConfigurableResource):
    """Connections to the warehouse file (resource key `warehouse`)."""

    path: str
    threads: int = 0
    memory_limit: str = ""
    _run_connection: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)

    @classmethod
    def from_settings(cls, settings: Settings) -> DuckDBWarehouse:
        return cls(
            path=str(settings.db_path), threads=settings.duckdb_threads, memory_limit=settings.duckdb_memory_limit
        )

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Raises WarehouseBusy (the run fails with that one line) when another run holds the warehouse.
        acquire(Path(self.path), f"run {context.run_id or 'without id'}")
        try:
            self._run_connection = self.warehouse.connect()
        except BaseException:
            release(Path(self.path))
            raise

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        try:
            if self._run_connection is not None:
                self._run_connection.close()
                self._run_connection = None
        finally:
            release(Path(self.path))

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(Path(self.path), self.threads, self.memory_limit)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one step: a cursor of the run's connection (its own transactions, the same database).
        `read_only` opens the file read-only when no run holds it; inside a run it is the caller's promise (DuckDB
        refuses a read-only and a read-write connection to one file in one process)."""
        if self._run_connection is not None:
            con = self._run_connection.cursor()
            con.execute("set enable_progress_bar = false")
        else:
            con = self.warehouse.connect(read_only=read_only)
        try:
            yield con
        finally:
            con.close()


class PipelinePaths(dg.ConfigurableResource):
    """The settings the assets need besides the warehouse (resource key `paths`): where batches land, where
    reports, published snapshots and run summaries go, the data-quality suites, the site's code-system map, and
    the batch acceptance policy."""

    landing_dir: str
    reports_dir: str
    published_dir: str
    runs_dir: str
    key_file: str
    expectations_dir: str = ""  # "" = the project's suites
    code_system_map_file: str = ""  # "" = the project's SYSTEM labels only
    max_quarantine_share: float = 0.2
    allow_external_symlinks: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> PipelinePaths:
        return cls(
            landing_dir=str(settings.landing_dir),
            reports_dir=str(settings.reports_dir),
            published_dir=str(settings.published_dir),
            runs_dir=str(settings.runs_dir),
            key_file=str(settings.key_file),
            expectations_dir=str(settings.expectations_dir),
            code_system_map_file=str(settings.code_system_map_file or ""),
            max_quarantine_share=settings.max_quarantine_share,
            allow_external_symlinks=settings.allow_external_symlinks,
        )

    @property
    def code_system_map(self) -> Path | None:
        return Path(self.code_system_map_file) if self.code_system_map_file else None

    @property
    def suites_dir(self) -> Path:
        return Path(self.expectations_dir) if self.expectations_dir else EXPECTATIONS_DIR


# The Spark engine (resource key `spark`): a `SparkEngine` (spark_resource.py) when `engine = "spark"`, else None.
# The assets that run on either engine (reference data, staging's copy for Spark, validation, the phenotype) take
# it and run on DuckDB when it is None.
SparkEngineParam = dg.ResourceParam[Any]


def spark_engine(settings: Settings) -> Any:
    """The `spark` resource of the settings: None unless `engine = "spark"` (then the `spark` extra is needed)."""
    if settings.engine.lower() != "spark":
        return None
    from pipelines.orchestration.spark_resource import SparkEngine

    return SparkEngine.from_settings(settings)
