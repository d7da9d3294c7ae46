"""Marts assets: de-identified aggregates (`marts.*`), the published read-only snapshot and the dashboard."""

from pathlib import Path

import dagster as dg
import duckdb

from pipelines.definition.page import write_definition_page
from pipelines.marts.build import build_marts
from pipelines.marts.dashboard import write_dashboard
from pipelines.marts.keys import load_hmac_key, register_patient_key
from pipelines.marts.publish import SNAPSHOT_FILE, publish_snapshot
from pipelines.marts.specs import MART_NAMES, MARTS
from pipelines.resources import DuckDBWarehouse, PipelinePaths
from pipelines.sql_runner import table_exists

GROUP = "marts"
COHORT_INPUTS = [
    dg.AssetKey("patient_flags"),
    dg.AssetKey("care_gaps"),
    dg.AssetKey("cohort_attrition"),
    dg.AssetKey("version_diff"),
    # value_set_matches counts what the phenotype matched
    dg.AssetKey("condition_matches"),
    dg.AssetKey("lab_results"),
]
GRAINS = {m.name: m.grain for m in MARTS} | {"run_info": "one row: the run, batch and phenotype version"}
MART_KEYS = [dg.AssetKey(["marts", name]) for name in MART_NAMES]


def run_batch_id(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse) -> str:
    """The batch of this run: its partition tag, else the most recently registered batch, else 'none'."""
    tagged = context.run.tags.get("dagster/partition")
    if tagged:
        return tagged
    with warehouse.connect() as con:
        if table_exists(con, "raw._batches"):
            row = con.execute("select batch_id from raw._batches order by registered_at desc limit 1").fetchone()
            if row:
                return str(row[0])
    return "none"


@dg.multi_asset(
    specs=[
        dg.AssetSpec(key, description=GRAINS[key.path[-1]], group_name=GROUP, kinds={"duckdb"}, deps=COHORT_INPUTS)
        for key in MART_KEYS
    ],
    can_subset=False,  # built in one transaction so that the marts always agree with each other
)
def marts(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, paths: PipelinePaths):
    """One table per mart in schema `marts` (see docs/marts.md), small counts suppressed."""
    batch_id = run_batch_id(context, warehouse)
    # Loaded (and created with 0600 on first run) so that any SQL may call patient_key(); never logged.
    key = load_hmac_key(paths.key_file)
    with warehouse.connect() as con:
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
    for name in MART_NAMES:
        yield dg.MaterializeResult(
            asset_key=["marts", name],
            metadata={
                "rows": rows[name],
                "rows_with_suppressed_cells": suppressed.get(name, 0),
                # cells the disclosure audit hid because other published counts would give a hidden one away
                "cells_hidden_by_disclosure_audit": by_audit.get(name, 0),
                "batch_id": batch_id,
                "hmac_key_source": key.source,
            },
        )


@dg.asset(group_name=GROUP, kinds={"duckdb", "parquet"}, deps=MART_KEYS)
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


@dg.asset(group_name=GROUP, kinds={"html"}, deps=[published_snapshot])
def dashboard(warehouse: DuckDBWarehouse, paths: PipelinePaths) -> dg.MaterializeResult:
    """One self-contained HTML file (reports_dir/dashboard.html) drawn from the marts of the published run."""
    # Read the published snapshot, not the warehouse: the page shows exactly what BI tools see.
    snapshot = Path(paths.published_dir) / SNAPSHOT_FILE
    with duckdb.connect(str(snapshot), read_only=True) as con:
        path = write_dashboard(con, Path(paths.reports_dir))
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)), "bytes": path.stat().st_size})


@dg.asset(group_name=GROUP, kinds={"html"}, deps=[published_snapshot])
def definition_page(warehouse: DuckDBWarehouse, paths: PipelinePaths) -> dg.MaterializeResult:
    """One self-contained HTML file (reports_dir/definition.html): the phenotype for clinicians, from the seeds
    the run loaded, with the published per-code counts and version diff."""
    with warehouse.connect(read_only=True) as con:
        path = write_definition_page(con, Path(paths.reports_dir))
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)), "bytes": path.stat().st_size})


defs = dg.Definitions(assets=[marts, published_snapshot, dashboard, definition_page])
