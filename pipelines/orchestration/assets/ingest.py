"""Ingest assets: the landed batch, raw_<file> per batch partition, staging_<file> over the accepted batches, and
the batch's acceptance once staging's blocking checks have passed (the steps: `pipelines/ingest/lifecycle.py`)."""

from pathlib import Path

import dagster as dg

from pipelines.contract.batch_ids import unsafe_batch_id
from pipelines.contract.suites import load_suites
from pipelines.contract.synthea import LAYOUTS
from pipelines.ingest import lifecycle
from pipelines.ingest.batch import BatchError, BatchInspection, inspect_batch
from pipelines.ingest.staging_rules import staging_rules
from pipelines.orchestration.assets.reference import reference_data
from pipelines.orchestration.batch_context import BatchContext
from pipelines.orchestration.partitions import batch_partitions
from pipelines.orchestration.processing_path import choose_path, definitions_signature, run_scope
from pipelines.orchestration.resources import DuckDBWarehouse, PipelinePaths, SparkEngineParam
from pipelines.orchestration.table_metadata import row_count_metadata, table_definition_metadata

EVENT_TABLES = ("conditions", "observations", "medications", "procedures")


def batch_failure(error: BatchError) -> dg.Failure:
    """A one-line failure whose reason code travels to the batch line, run summary, ledger and hook."""
    return dg.Failure(description=str(error), metadata={"reason_code": error.code}, allow_retries=False)


def _inspect(
    context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, paths: PipelinePaths
) -> tuple[BatchContext, Path, BatchInspection]:
    """The run's batch, its folder, and what the folder holds (files and headers checked)."""
    batch = BatchContext.from_tags(context.run.tags)
    with warehouse.connect() as con:
        source_dir = batch.source_dir(con, Path(paths.landing_dir))
    root = lifecycle.allowed_root(source_dir, Path(paths.landing_dir), paths.allow_external_symlinks)
    return batch, source_dir, inspect_batch(source_dir, context.partition_key, root)


@dg.asset(partitions_def=batch_partitions, group_name="ingest", kinds={"duckdb"})
def landed_batch(
    context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, paths: PipelinePaths, spark: SparkEngineParam
) -> dg.MaterializeResult:
    """One row per batch in raw._batches: the folder passed its file and header checks; the batch is `loading`."""
    problem = unsafe_batch_id(context.partition_key)
    try:
        if problem:
            raise BatchError(problem, "invalid_batch_id")
        batch, source_dir, inspection = _inspect(context, warehouse, paths)
        for note in inspection.notes:
            context.log.info(note)
        with warehouse.connect() as con:
            lifecycle.recover_interrupted(con)  # before the choice: an interrupted run's batch is rolled back first
            signature = definitions_signature(paths.suites_dir, paths.code_system_map)
            path, reason = choose_path(con, batch.full, signature, spark_engine=spark is not None)
            lifecycle.register_batch(
                con, context.partition_key, source_dir, inspection.notes, context.run.run_id, batch.allow_out_of_order
            )
            lifecycle.start_scope(con, context.partition_key, path, reason)
        context.log.info(f"processing path: {path} ({reason})")
    except BatchError as exc:
        raise batch_failure(exc) from exc
    return dg.MaterializeResult(
        metadata={
            "source_dir": str(source_dir),
            "notes": dg.MetadataValue.md("\n".join(inspection.notes) or "-"),
            "unknown_files": ", ".join(inspection.unknown_files),
            "processing_path": path,
            "processing_reason": reason,
        }
    )


# The lineage columns `raw.<file>` adds to the file's own (ingest/raw_views.py).
RAW_LINEAGE = {
    "_extra_columns": "varchar",
    "_batch_id": "varchar",
    "_source_file": "varchar",
    "_source_line": "bigint",
    "_loaded_at": "timestamp",
}


def _raw_asset(name: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"raw_{name}",
        partitions_def=batch_partitions,
        deps=[landed_batch],
        group_name="ingest",
        kinds={"duckdb"},
        description=f"One row per landed row of {name}.csv, all text, per batch (raw.{name}).",
        metadata={
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(c, "varchar") for c in LAYOUTS[name].columns]
                + [dg.TableColumn(c, kind, description="lineage") for c, kind in RAW_LINEAGE.items()]
            ),
            "dagster/table_name": f"raw.{name}",
        },
    )
    def raw_file(
        context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, paths: PipelinePaths
    ) -> dg.MaterializeResult:
        try:
            _, _, inspection = _inspect(context, warehouse, paths)
            with warehouse.connect() as con:
                scope = run_scope(con, context.partition_key)
                result = lifecycle.land_file(con, context.partition_key, inspection.files[name], scope)
        except BatchError as exc:
            raise batch_failure(exc) from exc
        if inspection.files[name].path is None:
            context.log.info(f"{name}.csv absent in batch {context.partition_key}: no rows (optional file)")
        return dg.MaterializeResult(
            metadata={
                "dagster/partition_row_count": result.rows_loaded,
                "rows_loaded": result.rows_loaded,
                "rows_rejected": result.rows_rejected,
                "processing_path": "full" if scope.is_full else "incremental",
            }
        )

    return raw_file


def _staging_asset(name: str) -> dg.AssetsDefinition:
    # Every raw file of the batch first: staging never sees part of a batch. The code-system map is in ref.
    upstream = [reference_data.key, *(dg.AssetKey(f"raw_{raw}") for raw in LAYOUTS)]
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
        metadata=table_definition_metadata(f"staging.{name}"),
    )
    def staging_file(
        context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, paths: PipelinePaths, spark: SparkEngineParam
    ) -> dg.MaterializeResult:
        rules = staging_rules(load_suites(paths.suites_dir).get(name))
        try:
            with warehouse.connect() as con:
                batch_id = BatchContext.from_tags(context.run.tags).batch_id
                scope = run_scope(con, batch_id)
                # On Spark the rows are typed, ranked and judged there (validation and the phenotype read
                # Spark's version); the DuckDB file keeps the quarantine and ledgers (docs/scale-out.md).
                result = lifecycle.build_staging(
                    con,
                    name,
                    batch_id,
                    paths.max_quarantine_share,
                    rules,
                    scope,
                    spark_tables=None if spark is None else spark.tables,
                    run_id=context.run.run_id,
                )
                counted = row_count_metadata(con, f"staging.{name}")
        except BatchError as exc:
            raise batch_failure(exc) from exc
        return dg.MaterializeResult(
            metadata={
                **counted,
                "rows": result.rows_staged,
                "rows_quarantined": result.rows_quarantined,
                "rows_superseded": result.rows_superseded,
                "rows_failing_rules": result.rows_failing_rules,
                "processing_path": "full" if scope.is_full else "incremental",
                **({} if scope.is_full else {"patients_in_scope": result.patients_in_scope}),
            }
        )

    return staging_file


raw_assets = [_raw_asset(name) for name in LAYOUTS]
staging_assets = [_staging_asset(name) for name in LAYOUTS]


@dg.asset(
    partitions_def=batch_partitions,
    deps=[asset.key for asset in staging_assets],
    group_name="ingest",
    kinds={"duckdb"},
)
def accepted_batch(
    context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, paths: PipelinePaths
) -> dg.MaterializeResult:
    """The batch is accepted: every file landed, staging's blocking checks passed (a failing one skips this step),
    and no file lost more than `max_quarantine_share` of its rows to quarantine. From now on staging includes it."""
    try:
        with warehouse.connect() as con:
            read, loaded, quarantined = lifecycle.accept_batch(con, context.partition_key, paths.max_quarantine_share)
    except BatchError as exc:
        raise batch_failure(exc) from exc
    return dg.MaterializeResult(
        metadata={"rows_read": read, "rows_loaded": loaded, "rows_quarantined": quarantined}
    )


# Every ingest asset, in graph order (the reference layer they read first).
ingest_assets = [reference_data, landed_batch, *raw_assets, *staging_assets, accepted_batch]
