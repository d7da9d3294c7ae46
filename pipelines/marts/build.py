"""Builds every `marts.*` table in one transaction: exact counts in temp tables, then suppressed copies, then
the disclosure audit across all of them (it may hide more cells).

Exact (unsuppressed) counts only ever live in temporary tables of the connection, never in the warehouse file.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from pipelines.contract.flags import CATALOG_FILE
from pipelines.marts.disclosure import protect_marts
from pipelines.marts.rollup import choose_grain, period_sql_params
from pipelines.marts.specs import MARTS, MartSpec
from pipelines.marts.suppression import suppress_into
from pipelines.warehouse import read_sql, table_columns, table_exists, transaction

# Columns of cohort.attrition that may carry the step order; otherwise insertion order (rowid) is used.
_STEP_ORDER_COLUMNS = ("step_order", "step_number", "step_index", "ordinal", "position")


# The data-quality tables' contract columns, for the stand-in used when they do not exist yet.
_DQ_CONTRACT = {
    "batch_reconciliation": "batch_id varchar, source_file varchar, rows_read bigint, rows_loaded bigint, "
    "rows_quarantined bigint, rows_superseded bigint, rows_held bigint",
    "check_results": "run_id varchar, batch_id varchar, table_name varchar, check_name varchar, "
    "kahn_category varchar, severity varchar, status varchar, failing_rows bigint, total_rows bigint, "
    "threshold double",
}


class MartInputError(RuntimeError):
    """An input table the marts need is missing."""


def build_marts(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    batch_id: str,
    phenotype_version: str | None = None,
    built_at: datetime | None = None,
    audit: bool = True,
) -> dict[str, int]:
    """(Re)builds all marts for one run; returns rows per mart. Missing inputs raise before anything changes.

    `audit=False` leaves out the disclosure audit (to see what the suppression rules alone would publish); such
    marts are refused by publishing.
    """
    missing = sorted({t for m in MARTS for t in m.reads if not table_exists(con, t)})
    if missing:
        raise MartInputError(f"marts need tables that do not exist: {', '.join(missing)}")
    version = phenotype_version or current_phenotype_version(con)
    built_at = built_at or datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    _load_context(con, run_id, batch_id, version)
    counts: dict[str, int] = {}
    with transaction(con):
        con.execute("create schema if not exists marts")
        for spec in MARTS:
            counts[spec.name] = _build_one(con, spec)
        con.execute(
            "create or replace table marts.run_info as select run_id, batch_id, phenotype_version, "
            "?::timestamp as built_at from mart_context",
            [built_at],
        )
        counts["run_info"] = 1
        # Reads the exact counts, then they go (on failure the rollback drops them with everything else).
        if audit:
            protect_marts(con, run_id)
        for spec in MARTS:
            con.execute(f"drop table _exact_{spec.name}")
    return counts


def _build_one(con: duckdb.DuckDBPyConnection, spec: MartSpec) -> int:
    exact = f"_exact_{spec.name}"
    sql = read_sql(f"marts/{spec.name}.sql", **_sql_params(con, spec)).strip().rstrip(";")
    con.execute(f"create or replace temp table {exact} as\n{sql}")
    target = f"marts.{spec.name}"
    rows = suppress_into(con, exact, target, spec.suppression)
    for column in spec.drop_columns:
        con.execute(f"alter table {target} drop column {column}")
    return rows


def _sql_params(con: duckdb.DuckDBPyConnection, spec: MartSpec) -> dict[str, str]:
    if spec.name == "flag_prevalence":
        flags = [r[0] for r in con.execute("select flag from mart_flag_catalog order by flag_order").fetchall()]
        return {"flag_columns": ", ".join(flags)}
    if spec.name == "dq_batch_summary":
        return {name: _table_or_empty(con, f"dq.{name}", columns) for name, columns in _DQ_CONTRACT.items()}
    if spec.optional_reads:
        return {name: _table_or_empty(con, table, columns) for name, table, columns in spec.optional_reads}
    if spec.name == "cohort_periods":
        return period_sql_params(choose_grain(con, spec.suppression))
    if spec.name == "attrition":
        columns = {c.lower() for c in table_columns(con, "cohort.attrition")}
        order = next((c for c in _STEP_ORDER_COLUMNS if c in columns), "rowid")
        return {"step_order": order}
    return {}


def _table_or_empty(con: duckdb.DuckDBPyConnection, qualified_name: str, columns: str) -> str:
    """`qualified_name` when it exists, else an empty temp table with its contract columns."""
    if table_exists(con, qualified_name):
        return qualified_name
    stand_in = "_empty_" + qualified_name.replace(".", "_")
    con.execute(f"create or replace temp table {stand_in} ({columns})")
    return stand_in


def _load_context(con: duckdb.DuckDBPyConnection, run_id: str, batch_id: str, version: str) -> None:
    # Parameters go through a temp table, not string formatting: batch ids come from folder names.
    con.execute(
        "create or replace temp table mart_context as "
        "select ?::varchar as run_id, ?::varchar as batch_id, ?::varchar as phenotype_version",
        [run_id, batch_id, version],
    )
    con.execute(
        "create or replace temp table mart_flag_catalog as "
        "select flag, flag_group, label, row_number() over () as flag_order "
        "from read_csv(?, header = true, all_varchar = true)",
        [str(CATALOG_FILE)],
    )


def current_phenotype_version(con: duckdb.DuckDBPyConnection) -> str:
    """The version on the flags (the version that produced them), else the reference version, else 'unknown'."""
    if table_exists(con, "cohort.patient_flags"):
        row = con.execute("select max(phenotype_version) from cohort.patient_flags").fetchone()
        if row and row[0]:
            return str(row[0])
    if table_exists(con, "ref.phenotype_version"):
        row = con.execute("select max(phenotype_version) from ref.phenotype_version").fetchone()
        if row and row[0]:
            return str(row[0])
    return "unknown"
