"""Spark's raw batches follow the DuckDB file's landed batches: each admitted batch written once, written again
when it is landed again (a re-delivery, or the old rows put back after a rejected one), never when not admitted."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.contract.synthea import LAYOUTS
from pipelines.ingest.batch_state import admitted_batches
from pipelines.ingest.staging_on_spark import mirror_raw_batches
from pipelines.warehouse.spark_tables import SparkTables
from tests.warehouse.spark_names import drop_spark_name

LAYOUT = LAYOUTS["medications"]
FIRST, SECOND = "2026-05-31", "2026-06-30"  # the sample's two batches


@pytest.fixture
def warehouse(sample_warehouse: Path, tmp_path: Path):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, copy)
    con = duckdb.connect(str(copy))
    yield con
    con.close()


@pytest.fixture
def tables(spark, tmp_path: Path):
    drop_spark_name(spark, f"raw.{LAYOUT.name}")  # the session is shared (spark_names.py)
    yield SparkTables(spark, (tmp_path / "lake").as_uri())
    drop_spark_name(spark, f"raw.{LAYOUT.name}")


def _rows(spark_or_con, batch_id: str) -> list[tuple]:
    query = (
        f"select PATIENT, CODE, START, _source_line, _source_file from raw.{LAYOUT.name} "
        f"where _batch_id = '{batch_id}' order by _source_line"
    )
    if isinstance(spark_or_con, duckdb.DuckDBPyConnection):
        return spark_or_con.execute(query).fetchall()
    return [tuple(r) for r in spark_or_con.sql(query).collect()]


def test_each_admitted_batch_is_written_once(warehouse, tables: SparkTables, spark) -> None:
    admitted = admitted_batches(warehouse)
    assert admitted == [FIRST, SECOND]
    assert mirror_raw_batches(warehouse, tables, LAYOUT, admitted) == 2
    for batch_id in admitted:
        assert _rows(spark, batch_id) == _rows(warehouse, batch_id) != []
    assert mirror_raw_batches(warehouse, tables, LAYOUT, admitted) == 0  # nothing new landed


def test_a_batch_landed_again_is_written_again(warehouse, tables: SparkTables, spark) -> None:
    mirror_raw_batches(warehouse, tables, LAYOUT, [FIRST, SECOND])
    # the second batch landed again (what a re-delivery does, and a rolled-back one puts the old landing back):
    # other rows, another landing time
    table = f'raw_batches."{LAYOUT.name}@{SECOND}"'
    warehouse.execute(f"delete from {table} where rowid = (select min(rowid) from {table})")
    warehouse.execute(
        "update raw._landed_files set loaded_at = loaded_at + interval 1 second where batch_id = ? and source_file = ?",
        [SECOND, LAYOUT.file_name],
    )
    before = len(_rows(spark, SECOND))

    assert mirror_raw_batches(warehouse, tables, LAYOUT, [FIRST]) == 0  # not admitted: left alone
    assert mirror_raw_batches(warehouse, tables, LAYOUT, [FIRST, SECOND]) == 1
    assert _rows(spark, SECOND) == _rows(warehouse, SECOND)
    assert len(_rows(spark, SECOND)) == before - 1
