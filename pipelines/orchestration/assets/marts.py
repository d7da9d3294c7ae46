"""Marts assets: de-identified aggregates (`marts.*`) built in one transaction, and the published read-only
snapshot. Their upstream assets are the cohort assets building the tables the marts' SQL reads."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg

from pipelines.cohort.models import producer
from pipelines.marts.build import build_marts
from pipelines.marts.keys import load_hmac_key, register_patient_key
from pipelines.marts.publish import publish_snapshot
from pipelines.marts.specs import MART_NAMES, MARTS
from pipelines.orchestration.batch_context import BatchContext
from pipelines.orchestration.resources import DuckDBWarehouse, PipelinePaths, SparkEngineParam
from pipelines.orchestration.table_metadata import table_definition_metadata
from pipelines.warehouse.engine_exchange import duckdb_schemas_to_spark

GROUP = "marts"
# Python-built tables the marts read, and the asset writing them.
PYTHON_BUILT = {"cohort.version_diff": "version_diff", "cohort.version_runs": "version_diff"}
MART_KEYS = [dg.AssetKey(["marts", name]) for name in MART_NAMES]
# On the Spark engine, what the DuckDB file holds of these schemas is written to the engine's tables after the
# marts are built, so a platform's readers find every layer there: the data-quality record and the suppressed
# marts (never `privacy`, whose audit holds counts that are not published). The ledger of batch runs is written
# when the run ends, after its Spark session: it stays in the DuckDB file.
LAKE_COPIES = ("quarantine", "dq", "marts")
NOT_COPIED = ("dq.batch_runs",)


def cohort_inputs() -> list[dg.AssetKey]:
    """The assets building every table a mart reads (its SQL, and the tables it may read when present)."""
    tables = {t for spec in MARTS for t in spec.reads} | {t for spec in MARTS for _, t, _ in spec.optional_reads}
    assets = {producer(t) or PYTHON_BUILT.get(t) for t in tables if t.split(".")[0] in ("cohort", "intermediate")}
    return sorted(dg.AssetKey(a) for a in assets if a)


def _description(name: str) -> str:
    if name == "run_info":
        return "one row: the run, batch and phenotype version"
    return next(spec.grain for spec in MARTS if spec.name == name)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key,
            description=_description(key.path[-1]),
            group_name=GROUP,
            kinds={"duckdb"},
            deps=cohort_inputs(),
            metadata=table_definition_metadata(f"marts.{key.path[-1]}"),
        )
        for key in MART_KEYS
    ],
    can_subset=False,  # built in one transaction so that the marts always agree with each other
)
def marts(
    context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, paths: PipelinePaths, spark: SparkEngineParam
) -> Iterator[dg.MaterializeResult]:
    """One table per mart in schema `marts` (see docs/marts.md), small counts suppressed."""
    # Loaded (and created with 0600 on first run) so that any SQL may call patient_key(); never logged.
    key = load_hmac_key(paths.key_file)
    with warehouse.connect() as con:
        batch_id = BatchContext.from_tags(context.run.tags).batch_or_latest(con)
        register_patient_key(con, key)
        rows = build_marts(con, run_id=context.run.run_id, batch_id=batch_id)
        suppressed = {
            name: con.execute(f"select count_if(suppressed) from marts.{name}").fetchone()[0]
            for name in rows
            if name != "run_info"
        }
        by_audit = dict(
            con.execute(
                "select mart, count(*) from privacy.protected_counts where hidden_by = 'audit' group by mart"
            ).fetchall()
        )
        if spark is not None:
            copied = duckdb_schemas_to_spark(con, spark.tables, LAKE_COPIES, context.run.run_id, NOT_COPIED)
            context.log.info(f"written to the Spark engine's tables: {len(copied)} tables of {', '.join(LAKE_COPIES)}")
    for name in MART_NAMES:
        yield dg.MaterializeResult(
            asset_key=["marts", name],
            metadata={
                "dagster/row_count": rows[name],
                "rows": rows[name],
                "rows_with_suppressed_cells": suppressed.get(name, 0),
                # cells the disclosure audit hid because other published counts would give a hidden one away
                "cells_hidden_by_disclosure_audit": by_audit.get(name, 0),
                "batch_id": batch_id,
                "hmac_key_source": key.source,
            },
        )


# The snapshot BI tools read is refreshed at least daily (the daily_refresh schedule): older than a day, Dagster
# shows it as late; older than two, as failing its freshness.
SNAPSHOT_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=48), warn_window=timedelta(hours=26))


@dg.asset(group_name=GROUP, kinds={"duckdb", "parquet"}, deps=MART_KEYS, freshness_policy=SNAPSHOT_FRESHNESS)
def published_snapshot(warehouse: DuckDBWarehouse, paths: PipelinePaths) -> dg.MaterializeResult:
    """One read-only snapshot of all marts (DuckDB file + Parquet), swapped in atomically after a good run."""
    with warehouse.connect() as con:
        result = publish_snapshot(con, Path(paths.published_dir))
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.duckdb_path)),
            "snapshot_id": result.snapshot_id,
            "snapshot_dir": dg.MetadataValue.path(str(result.snapshot_dir)),
            "marts_run_id": result.run_id,
            "rows": dg.MetadataValue.json(result.rows),
        }
    )
