"""When a rollback puts staging back after the Spark engine built it, Spark's copy is marked stale and replaced by
the DuckDB file's rows before Spark reads it again (the phenotype and the suites refresh first)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest.staging_build import build_staging_table, prepare_staging
from pipelines.ingest.staging_rules import RowRule
from pipelines.warehouse import ensure_bookkeeping
from pipelines.warehouse.engine_exchange import mark_spark_current, refresh_stale_spark_tables
from pipelines.warehouse.spark_tables import SparkTables
from tests.warehouse.spark_names import drop_spark_name

TABLE = "staging.medications"


@pytest.fixture
def warehouse(sample_warehouse: Path, tmp_path: Path):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, copy)
    con = duckdb.connect(str(copy))
    ensure_bookkeeping(con, ("raw._spark_stale_tables",))
    yield con
    con.close()


def _spark_rows(tables: SparkTables) -> list[tuple]:
    path = tables.local_path(tables.current(TABLE))
    with duckdb.connect() as con:
        return con.execute(f"select * from read_parquet('{path}/*.parquet') order by all").fetchall()


def test_a_stale_spark_table_is_replaced_by_the_duckdb_rows(warehouse, spark, tmp_path: Path) -> None:
    tables = SparkTables(spark, (tmp_path / "lake").as_uri())
    duckdb_rows = warehouse.execute(f"select * from {TABLE} order by all").fetchall()
    # Spark built staging with a batch that was then rejected: one row fewer than the DuckDB file puts back
    version = tables.new_version(TABLE, "built-with-the-rejected-batch")
    Path(tables.local_path(version)).mkdir(parents=True)
    warehouse.execute(
        f"copy (select * from {TABLE} order by all limit {len(duckdb_rows) - 1}) "
        f"to '{tables.local_path(version)}/part-0.parquet' (format parquet)"
    )
    tables.adopt(TABLE, version)
    assert len(_spark_rows(tables)) == len(duckdb_rows) - 1

    assert refresh_stale_spark_tables(warehouse, tables) == []  # not marked: left alone
    warehouse.execute("insert into raw._spark_stale_tables values (?, now()::timestamp)", [TABLE])
    assert refresh_stale_spark_tables(warehouse, tables) == [TABLE]
    assert _spark_rows(tables) == duckdb_rows
    assert refresh_stale_spark_tables(warehouse, tables) == []  # the mark is gone


def test_a_table_built_on_spark_is_current_again(warehouse) -> None:
    warehouse.execute("insert into raw._spark_stale_tables values (?, now()::timestamp)", [TABLE])
    mark_spark_current(warehouse, TABLE)
    assert warehouse.execute("select count(*) from raw._spark_stale_tables").fetchone()[0] == 0


def test_a_failed_spark_build_leaves_the_table_marked_stale(warehouse, spark, tmp_path: Path) -> None:
    tables = SparkTables(spark, (tmp_path / "lake").as_uri())
    broken = RowRule("patients_broken_rule", "t.no_such_column > 1", "a rule naming no column of the table")
    drop_spark_name(spark, "raw.patients")  # the session is shared (spark_names.py)
    try:
        prepare_staging(warehouse)
        with pytest.raises(Exception, match="no_such_column"):
            build_staging_table(warehouse, "patients", (broken,), today=date(2026, 11, 29), spark_tables=tables)
    finally:
        drop_spark_name(spark, "raw.patients")
    marked = warehouse.execute("select table_name from raw._spark_stale_tables").fetchall()
    assert marked == [("staging.patients",)]
