"""Ingest assets: the landed batch, raw_<file> per batch partition, staging_<file> over all batches."""


from pathlib import Path

import dagster as dg

from pipelines.ingest.batch import BatchError, inspect_batch
from pipelines.ingest.layout import LAYOUTS
from pipelines.ingest.raw_load import load_raw_file
from pipelines.ingest.raw_views import ensure_raw_view
from pipelines.ingest.staging_build import EVENT_TABLES, build_staging_table, prepare_staging
from pipelines.ingest.storage import ensure_schemas
from pipelines.partitions import SOURCE_DIR_TAG, batch_partitions
from pipelines.resources import DuckDBWarehouse, PipelinePaths


def batch_source_dir(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, paths: PipelinePaths) -> Path:
    """The folder of this run's batch: the run tag, else the registry, else <landing>/<batch id>."""
    tagged = context.run.tags.get(SOURCE_DIR_TAG)
    if tagged:
        return Path(tagged)
    with warehouse.connect() as con:
        ensure_schemas(con)
        row = con.execute(
            "select source_dir from raw._batches where batch_id = ?", [context.partition_key]
        ).fetchone()
    return Path(row[0]) if row else Path(paths.landing_dir) / context.partition_key


@dg.asset(partitions_def=batch_partitions, group_name="ingest", kinds={"duckdb"})
def landed_batch(
    context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, paths: PipelinePaths
) -> dg.MaterializeResult:
    """One row per batch in raw._batches: the folder passed its file and header checks."""
    batch_id = context.partition_key
    source_dir = batch_source_dir(context, warehouse, paths)
    try:
        inspection = inspect_batch(source_dir, batch_id)
    except BatchError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    for note in inspection.notes:
        context.log.info(note)
    with warehouse.connect() as con:
        ensure_schemas(con)
        con.execute(
            "insert or replace into raw._batches values (?, ?, now()::timestamp, ?)",
            [batch_id, str(source_dir.resolve()), "\n".join(inspection.notes)],
        )
    return dg.MaterializeResult(
        metadata={"source_dir": str(source_dir), "notes": dg.MetadataValue.md("\n".join(inspection.notes) or "-")}
    )


def _raw_asset(name: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"raw_{name}",
        partitions_def=batch_partitions,
        deps=[landed_batch],
        group_name="ingest",
        kinds={"duckdb"},
        description=f"One row per landed row of {name}.csv, all text, per batch (raw.{name}).",
    )
    def raw_file(
        context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, paths: PipelinePaths
    ) -> dg.MaterializeResult:
        batch_id = context.partition_key
        inspection = inspect_batch(batch_source_dir(context, warehouse, paths), batch_id)
        with warehouse.connect() as con:
            ensure_schemas(con)
            result = load_raw_file(con, batch_id, inspection.files[name])
        if inspection.files[name].path is None:
            context.log.info(f"{name}.csv absent in batch {batch_id}: no rows (optional file)")
        return dg.MaterializeResult(
            metadata={"rows_loaded": result.rows_loaded, "rows_rejected": result.rows_rejected}
        )

    return raw_file


def _staging_asset(name: str) -> dg.AssetsDefinition:
    upstream = [dg.AssetKey(f"raw_{name}")]
    if name == "encounters":
        upstream.append(dg.AssetKey("staging_patients"))
    if name in EVENT_TABLES:
        upstream += [dg.AssetKey("staging_patients"), dg.AssetKey("staging_encounters")]

    @dg.asset(
        name=f"staging_{name}",
        deps=upstream,
        group_name="staging",
        kinds={"duckdb"},
        description=f"One current row per natural key of {name}, typed, newest batch wins (staging.{name}).",
    )
    def staging_file(
        context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, paths: PipelinePaths
    ) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            ensure_schemas(con)
            prepare_staging(con, paths.code_system_map)
            for layout_name in ("patients", "encounters", name):
                ensure_raw_view(con, LAYOUTS[layout_name])
            result = build_staging_table(con, name)
        return dg.MaterializeResult(
            metadata={
                "rows": result.rows_staged,
                "rows_quarantined": result.rows_quarantined,
                "rows_superseded": result.rows_superseded,
            }
        )

    return staging_file


raw_assets = [_raw_asset(name) for name in LAYOUTS]
staging_assets = [_staging_asset(name) for name in LAYOUTS]

process_batch = dg.define_asset_job(
    "process_batch",
    selection=dg.AssetSelection.all(),
    description="Land one batch and rebuild everything downstream of it.",
)

defs = dg.Definitions(assets=[landed_batch, *raw_assets, *staging_assets], jobs=[process_batch])
