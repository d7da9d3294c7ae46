"""Runs the real ingest + cohort assets (and their checks) over one batch folder, as one Dagster run."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.orchestration.assets import cohort, ingest
from pipelines.orchestration.partitions import SOURCE_DIR_TAG, batch_partitions
from pipelines.orchestration.resources import DuckDBWarehouse, PipelinePaths

VIGNETTES = Path(__file__).parent
BATCH_ID = "2024-12-01"


def materialize_extract(
    db_path: Path, source_dir: Path, code_system_map_file: Path | None = None
) -> dg.ExecuteInProcessResult:
    """Ingest + cohort assets and checks over one batch folder (default: the vignettes), as one Dagster run."""
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(batch_partitions.name, [BATCH_ID])
    folder = db_path.parent
    return dg.materialize(
        [
            *ingest.ingest_assets,
            *cohort.cohort_assets.values(),
            *cohort.cohort_checks,
        ],
        partition_key=BATCH_ID,
        instance=instance,
        tags={SOURCE_DIR_TAG: str(source_dir)},
        resources={
            "warehouse": DuckDBWarehouse(path=str(db_path)),
            "paths": PipelinePaths(
                landing_dir=str(folder / "landing"),
                reports_dir=str(folder / "reports"),
                published_dir=str(folder / "published"),
                runs_dir=str(folder / "runs"),
                key_file=str(folder / "hmac.key"),
                code_system_map_file=str(code_system_map_file or ""),
            ),
        },
        raise_on_error=False,
    )
