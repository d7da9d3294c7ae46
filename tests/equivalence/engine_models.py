"""Every SQL model run on both engines over the same inputs, with the parameters the pipeline gives it.

Inputs are the tables a model reads, taken from a warehouse the real DuckDB pipeline built: DuckDB runs the model
as written on a copy of that warehouse; Spark runs the rendering (`render_sql(..., "spark")`) over the same tables
exported to Parquet and registered under the same names (session tables such as `mart_context` as temp views).
The rows are compared in a canonical order, value by value (floats exactly: the models round where it matters).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from pipelines.cohort import version_diff
from pipelines.cohort.models import ASSET_MODELS, MODEL_PARAMS
from pipelines.ingest.staging_build import EVENT_TABLES, prepare_staging
from pipelines.marts import build as marts_build
from pipelines.marts.specs import MARTS
from pipelines.reference.build import DERIVED_TABLES
from pipelines.warehouse import connect
from pipelines.warehouse.sql import render_sql

# a fixed "today" (the staging models reject dates after it)
TODAY = dt.date(2026, 11, 29)

Setup = Callable[[duckdb.DuckDBPyConnection], dict[str, object]]


@dataclass(frozen=True)
class ModelCase:
    name: str  # the table the pipeline builds
    path: str  # sql/<path>
    setup: Setup = field(default=lambda con: {})  # prepares session tables, returns the placeholders


def staging_cases() -> Iterator[ModelCase]:
    literal = f"date '{TODAY.isoformat()}'"

    def event_setup(name: str) -> Setup:
        return lambda con: {"typed_model": (_sql_dir() / f"staging/{name}.sql").read_text(), "today": literal}

    for name in ("patients", "encounters"):
        yield ModelCase(f"staging.{name}_typed", f"staging/{name}.sql", lambda con: {"today": literal})
    for name in EVENT_TABLES:
        yield ModelCase(f"staging.{name}_typed", "staging/_event_rules.sql", event_setup(name))


def ref_cases() -> Iterator[ModelCase]:
    for table in DERIVED_TABLES:
        schema, name = table.split(".")
        yield ModelCase(table, f"{schema}/{name}.sql")


def cohort_cases() -> Iterator[ModelCase]:
    for tables in ASSET_MODELS.values():
        for table in tables:
            schema, name = table.split(".")
            params = MODEL_PARAMS.get(table)
            yield ModelCase(table, f"{schema}/{name}.sql", (lambda con, p=params: p() if p else {}))

    def diff_setup(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
        # a baseline that differs from the current flags, so the diff has rows to compare
        con.execute(f"create or replace table {version_diff.BASELINE} as select * from cohort.patient_flags")
        con.execute(
            f"update {version_diff.BASELINE} set pad = not coalesce(pad, false), hypocalcemia = null "
            f"where patient_id in (select patient_id from {version_diff.BASELINE} order by patient_id limit 7)"
        )
        con.execute(
            f"delete from {version_diff.BASELINE} where patient_id in "
            f"(select patient_id from {version_diff.BASELINE} order by patient_id desc limit 2)"
        )
        con.execute(
            "create or replace temp table version_diff_context as select 'v-prev'::varchar as previous_version, "
            "'v-cur'::varchar as current_version, 'run-1'::varchar as run_id, "
            "timestamp '2026-11-29 12:00:00' as diffed_at"
        )
        flags = version_diff.DIFF_FLAGS[1:]
        return {
            "previous_columns": version_diff._flag_columns(con, version_diff.BASELINE, flags),
            "current_columns": version_diff._flag_columns(con, "cohort.patient_flags", flags),
            "flag_list": ", ".join(version_diff.DIFF_FLAGS),
        }

    yield ModelCase("cohort.version_diff", "cohort/version_diff.sql", diff_setup)


def mart_cases() -> Iterator[ModelCase]:
    for spec in MARTS:

        def setup(con: duckdb.DuckDBPyConnection, spec=spec) -> dict[str, object]:
            marts_build._load_context(con, "run-1", "batch-1", "v-test")
            if spec.name == "cohort_periods":
                # it reads the suppressed monthly mart of the same build ({{ monthly_mart }}): built first, as the
                # marts build does (the vignettes' warehouse has no marts: its build stops at the audit)
                con.execute("create schema if not exists marts")
                marts_build._build_one(con, next(m for m in MARTS if m.name == "cohort_monthly"))
            return marts_build._sql_params(con, spec)

        yield ModelCase(f"marts.{spec.name}", f"marts/{spec.name}.sql", setup)


def all_cases() -> list[ModelCase]:
    return [*staging_cases(), *ref_cases(), *cohort_cases(), *mart_cases()]


def _sql_dir() -> Path:
    from pipelines import SQL_DIR

    return SQL_DIR


# ------------------------------------------------------------------------------------------------ comparison
def referenced_tables(duckdb_sql: str) -> tuple[set[str], set[str]]:
    """(schema.table names, unqualified names that are not CTEs) a select reads."""
    tree = sqlglot.parse_one(duckdb_sql, read="duckdb")
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    qualified, temp = set(), set()
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue
        if table.db:
            qualified.add(f"{table.db}.{table.name}")
        elif table.name.lower() not in ctes:
            temp.add(table.name)
    return qualified, temp


def canonical(value: object) -> object:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return tuple(canonical(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, canonical(v)) for k, v in value.items()))
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


def sort_key(row: tuple) -> tuple:
    key = []
    for value in row:
        if value is None:
            key.append((0, ""))
        elif isinstance(value, bool):
            key.append((1, int(value)))
        elif isinstance(value, int | float):
            key.append((2, value))
        else:
            key.append((3, str(value)))
    return tuple(key)


@dataclass
class ModelResult:
    name: str
    rows: int
    problem: str = ""  # empty when both engines gave the same rows


class EngineComparison:
    """Runs model cases on a copy of a DuckDB warehouse and on a Spark session over its tables."""

    def __init__(self, warehouse: Path, scratch: Path, spark) -> None:
        scratch.mkdir(parents=True, exist_ok=True)
        copy = scratch / "scratch.duckdb"
        shutil.copy(warehouse, copy)
        self.con = connect(copy)
        prepare_staging(self.con)  # the staging macros, as the staging build creates them
        self.spark = spark
        self.parquet_dir = scratch / "inputs"
        self.registered: set[str] = set()

    def close(self) -> None:
        self.con.close()

    def _register(self, table: str) -> None:
        target = self.parquet_dir / table.replace(".", "/")
        target.mkdir(parents=True, exist_ok=True)
        self.con.execute(f"copy (select * from {table}) to '{target}/part-0.parquet' (format parquet)")
        if "." in table:
            schema = table.split(".")[0]
            self.spark.sql(f"create database if not exists {schema}")
            self.spark.sql(f"drop table if exists {table}")
            self.spark.sql(f"create table {table} using parquet location '{target}'")
        else:
            self.spark.read.parquet(str(target)).createOrReplaceTempView(table)

    def register_tables(self, tables: set[str]) -> None:
        """Registers warehouse tables in Spark (once each)."""
        for table in sorted(tables - self.registered):
            self._register(table)
            self.registered.add(table)

    def run(self, case: ModelCase) -> ModelResult:
        params = case.setup(self.con)
        duck_sql = render_sql(case.path, "duckdb", **params)
        relation = self.con.sql(duck_sql)
        columns = relation.columns
        duck_rows = sorted((tuple(canonical(v) for v in r) for r in relation.fetchall()), key=sort_key)
        qualified, temp = referenced_tables(duck_sql)
        for table in sorted(qualified | temp):
            # session tables (mart context, stand-ins) change between cases: always re-export them
            if table not in self.registered or "." not in table:
                self._register(table)
                self.registered.add(table)
        frame = self.spark.sql(render_sql(case.path, "spark", **params))
        spark_rows = sorted((tuple(canonical(v) for v in r) for r in frame.collect()), key=sort_key)
        result = ModelResult(case.name, len(duck_rows))
        if [c.lower() for c in frame.columns] != [c.lower() for c in columns]:
            result.problem = f"columns: duckdb {columns}, spark {frame.columns}"
        elif duck_rows != spark_rows:
            only_duck = [r for r in duck_rows if r not in spark_rows][:2]
            only_spark = [r for r in spark_rows if r not in duck_rows][:2]
            result.problem = (
                f"rows differ: duckdb {len(duck_rows)}, spark {len(spark_rows)}; "
                f"only on duckdb {only_duck!r:.600}; only on spark {only_spark!r:.600}"
            )
        return result
