"""The phenotype's SQL models, grouped by the Dagster asset that materializes them.

Each model is one file `sql/<schema>/<table>.sql` building `<schema>.<table>`: `cohort.*` are the outputs of the
contract, `intermediate.*` the helper tables between staging and them. What a model reads is found in its SQL
(`contract/sql_refs.py`); the asset graph and the build order follow from that. The same functions serve the
Dagster assets and the SQL unit tests, so tests exercise exactly the SQL the pipeline runs.

Every build takes a `Scope` (contract/scope.py): every patient, or the patients of a table. Every model but the
population aggregates (`WHOLE_POPULATION`) is a function of one patient's rows, so a build for some patients runs
the same SQL in a private in-memory database whose `staging`, `intermediate` and `cohort` tables are views of the
warehouse's rows of those patients (`ref` unfiltered), then replaces those patients' rows in one transaction
(delete and insert: no rename, see duckdb#22124 in docs/ARCHITECTURE.md); the aggregates are rebuilt whole after.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import duckdb

from pipelines import SQL_DIR
from pipelines.contract.flags import patient_flags_sql_params
from pipelines.contract.scope import ALL_PATIENTS, Scope
from pipelines.contract.sql_refs import referenced_tables
from pipelines.contract.tables import spark_casts, table_contract
from pipelines.warehouse import materialize_table, quote_ident, row_count, table_columns, table_exists, transaction
from pipelines.warehouse.engine_exchange import refresh_stale_spark_tables, spark_to_duckdb
from pipelines.warehouse.sql import render_sql

if TYPE_CHECKING:
    from pipelines.warehouse.spark_tables import SparkTables

# asset name -> the tables it builds (the last one is the asset's own table)
ASSET_MODELS: dict[str, tuple[str, ...]] = {
    "condition_matches": ("intermediate.condition_matches",),
    "lab_results": ("intermediate.lab_results",),
    "cramp_events": ("cohort.cramp_events",),
    "pregnancy_episodes": (
        "intermediate.pregnancy_evidence",
        "intermediate.pregnancy_intervals",
        "intermediate.pregnancy_episodes",
    ),
    "flag_evidence": (
        "intermediate.calcium_corrected",
        "intermediate.calcium_verdicts",
        "intermediate.condition_windows",
        "intermediate.evidence_conditions",
        "intermediate.evidence_labs",
        "intermediate.evidence_pregnancy",
        "intermediate.evidence_age",
        "intermediate.evidence_cramp_patterns",
        "cohort.flag_evidence",
    ),
    "patient_flags": ("cohort.patient_flags",),
    "care_gaps": ("cohort.care_gaps",),
    "cohort_attrition": ("cohort.attrition",),
}


# Models whose SQL has placeholders, and what fills them.
MODEL_PARAMS = {"cohort.patient_flags": patient_flags_sql_params}


def model_path(table: str) -> str:
    schema, name = table.split(".")
    return f"{schema}/{name}.sql"


@cache
def model_reads(table: str) -> frozenset[str]:
    """The tables the model of `table` reads."""
    return frozenset(referenced_tables((SQL_DIR / model_path(table)).read_text()) - {table})


def asset_reads(asset: str) -> set[str]:
    """The tables an asset's models read from outside the asset."""
    built = set(ASSET_MODELS[asset])
    return {read for table in built for read in model_reads(table)} - built


def producer(table: str) -> str | None:
    """The asset that builds `table` (None: not a phenotype model)."""
    return next((asset for asset, tables in ASSET_MODELS.items() if table in tables), None)


# Models that aggregate over every patient: a build for some patients rebuilds them whole, after the others.
WHOLE_POPULATION = frozenset({"cohort.attrition"})
SCOPED_DB = "_scoped"  # the private in-memory database of a build for some patients
SCOPE_PATIENTS = "_scope_patients"  # temp table: the patient ids of a scoped build
FILTERED_SCHEMAS = ("staging", "intermediate", "cohort")


def build_tables(
    con: duckdb.DuckDBPyConnection, tables: tuple[str, ...], scope: Scope = ALL_PATIENTS
) -> dict[str, int]:
    """Materializes each `schema.table` from `sql/schema/table.sql`, in the given order; returns row counts. With
    a scope of some patients, replaces only their rows (the tables must exist: the first build is a full one)."""
    if not scope.is_full:
        con.execute(f"create or replace temp table {SCOPE_PATIENTS} as {scope.patients_query()}")
        try:
            return _build_for_patients(con, tables, f"temp.{SCOPE_PATIENTS}")
        finally:
            con.execute(f"drop table if exists temp.{SCOPE_PATIENTS}")
    counts = {}
    for table in tables:
        counts[table] = materialize_table(con, table, model_path(table), **_params(table))
    return counts


def _params(table: str) -> dict[str, object]:
    return MODEL_PARAMS[table]() if table in MODEL_PARAMS else {}


def _build_for_patients(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...], patients: str) -> dict[str, int]:
    per_patient = [t for t in tables if t not in WHOLE_POPULATION]
    missing = [t for t in per_patient if not table_exists(con, t)]
    if missing:
        raise ValueError(f"a build for some patients needs the tables built once in full: {', '.join(missing)}")
    home = con.execute("select current_database()").fetchone()[0]
    patients_relation = patients if patients.startswith("temp.") else f"{quote_ident(home)}.{patients}"
    reads = {read for table in per_patient for read in model_reads(table)} - set(per_patient)
    con.execute(f"attach ':memory:' as {SCOPED_DB}")
    try:
        con.execute(f"use {SCOPED_DB}")
        try:
            for read in sorted(reads):
                _shadow(con, home, read, patients_relation)
            for table in per_patient:
                materialize_table(con, table, model_path(table), **_params(table))
        finally:
            con.execute(f"use {quote_ident(home)}")
        with transaction(con):
            for table in per_patient:
                columns = ", ".join(quote_ident(c) for c in table_columns(con, table))
                con.execute(f"delete from {table} where patient_id in (select patient_id from {patients_relation})")
                con.execute(f"insert into {table} ({columns}) select {columns} from {SCOPED_DB}.{table}")
    finally:
        con.execute(f"detach database if exists {SCOPED_DB}")
    counts = {table: row_count(con, table) for table in per_patient}
    for table in tables:
        if table in WHOLE_POPULATION:
            counts[table] = materialize_table(con, table, model_path(table), **_params(table))
    return counts


def _shadow(con: duckdb.DuckDBPyConnection, home: str, table: str, patients: str) -> None:
    """`table` in the private database (the current one): a view of the warehouse's table, filtered to the
    patients when it is a per-patient table."""
    schema, name = table.split(".")
    source = f"{quote_ident(home)}.{schema}.{quote_ident(name)}"
    con.execute(f"create schema if not exists {schema}")
    per_patient = schema in FILTERED_SCHEMAS and "patient_id" in table_columns(con, f"{schema}.{name}", catalog=home)
    where = f" where patient_id in (select patient_id from {patients})" if per_patient else ""
    con.execute(f"create or replace view {schema}.{quote_ident(name)} as select * from {source}{where}")


def build_tables_on_spark(spark_tables: SparkTables, tables: tuple[str, ...], run_id: str = "") -> dict[str, int]:
    """The same models on the Spark engine (docs/scale-out.md): each rendered as Spark SQL, cast to its contract
    types and written as a new version of its Parquet table; returns row counts."""
    counts = {}
    for table in tables:
        params = MODEL_PARAMS[table]() if table in MODEL_PARAMS else {}
        frame = spark_tables.spark.sql(render_sql(model_path(table), "spark", **params))
        spark_tables.publish(table, frame.selectExpr(*spark_casts(table)), run_id)
        counts[table] = spark_tables.spark.table(table).count()
    return counts


def build_asset_on_spark(
    con: duckdb.DuckDBPyConnection, spark_tables: SparkTables, asset: str, run_id: str = ""
) -> dict[str, int]:
    """An asset's models built by the Spark engine, then each table read into the DuckDB file with its contract
    types (the checks, the version diff and the marts read it there); returns row counts."""
    tables = ASSET_MODELS[asset]
    refresh_stale_spark_tables(con, spark_tables, run_id)  # staging put back by a rollback since Spark built it
    build_tables_on_spark(spark_tables, tables, run_id)
    return {table: spark_to_duckdb(con, spark_tables, table, table_contract(table).columns) for table in tables}


def build_asset(con: duckdb.DuckDBPyConnection, asset: str, scope: Scope = ALL_PATIENTS) -> dict[str, int]:
    return build_tables(con, ASSET_MODELS[asset], scope)


def build_phenotype(con: duckdb.DuckDBPyConnection, scope: Scope = ALL_PATIENTS) -> None:
    """Builds every phenotype model over the current `staging` and `ref` (asset by asset, in graph order)."""
    for asset in ASSET_MODELS:
        build_asset(con, asset, scope)
