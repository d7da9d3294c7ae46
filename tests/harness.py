"""The one way tests run the real Dagster assets: resources pointing below the warehouse's folder, the batch
registered as a partition, one in-process run. The ingest, vignette, validation, marts and kill tests all go
through here; what differs between them is only which assets run and which settings they override."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from pipelines.orchestration.partitions import SOURCE_DIR_TAG, batch_partitions
from pipelines.orchestration.resources import DuckDBWarehouse, PipelinePaths


def pipeline_paths(db: Path, landing_dir: Path | None = None, **overrides: object) -> PipelinePaths:
    """Landing, reports, published snapshot, run summaries and HMAC key below the warehouse's folder."""
    folder = db.parent
    values: dict[str, object] = {
        "landing_dir": landing_dir or folder / "landing",
        "reports_dir": folder / "reports",
        "published_dir": folder / "published",
        "runs_dir": folder / "runs",
        "key_file": folder / "hmac.key",
        **overrides,
    }
    return PipelinePaths(**{k: str(v) if isinstance(v, Path) else v for k, v in values.items()})


def pipeline_resources(db: Path, landing_dir: Path | None = None, **overrides: object) -> dict[str, object]:
    return {
        "warehouse": DuckDBWarehouse(path=str(db)),
        "paths": pipeline_paths(db, landing_dir, **overrides),
        "spark": None,  # engine duckdb
    }


def materialize_batch(
    assets: Sequence[dg.AssetsDefinition | dg.AssetChecksDefinition],
    db: Path,
    source_dir: Path,
    batch_id: str,
    *,
    instance: dg.DagsterInstance | None = None,
    landing_dir: Path | None = None,
    **overrides: object,
) -> dg.ExecuteInProcessResult:
    """One run of `assets` (and checks) for the batch folder `source_dir` as partition `batch_id` (the landing
    folder defaults to the batch folder's parent); failures are returned, not raised."""
    instance = instance or dg.DagsterInstance.ephemeral()
    if not instance.has_dynamic_partition(batch_partitions.name, batch_id):
        instance.add_dynamic_partitions(batch_partitions.name, [batch_id])
    return dg.materialize(
        list(assets),
        partition_key=batch_id,
        instance=instance,
        tags={SOURCE_DIR_TAG: str(source_dir)},
        resources=pipeline_resources(db, landing_dir or source_dir.parent, **overrides),
        raise_on_error=False,
    )
