"""The Dagster code location: wires the per-domain definitions together, nothing else."""

import dagster as dg

from pipelines.defs import automation, cohort, ingest, marts, quality, version_diff
from pipelines.resources import DuckDBWarehouse, PipelinePaths
from pipelines.settings import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    """The whole graph bound to one settings object (the CLI builds its own; `dagster dev` uses `defs`)."""
    return dg.Definitions.merge(
        ingest.defs,
        quality.build_quality_defs(settings.expectations_dir),
        cohort.defs,
        version_diff.defs,
        marts.defs,
        automation.build_automation_defs(settings),
        dg.Definitions(
            resources={
                "warehouse": DuckDBWarehouse(
                    path=str(settings.db_path),
                    threads=settings.duckdb_threads,
                    memory_limit=settings.duckdb_memory_limit,
                ),
                "paths": PipelinePaths.from_settings(settings),
            },
            # DuckDB allows one writing process per file: run every step in the run's own process.
            executor=dg.in_process_executor,
        ),
    )


defs = build_definitions(Settings.load())
