"""Data-quality history: every check of every run appended to `dq.check_results` (docs/outputs.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import duckdb

from pipelines.quality.validate import CheckResult
from pipelines.warehouse import ensure_bookkeeping

if TYPE_CHECKING:
    from pipelines.warehouse.spark_tables import SparkTables

CHECK_RESULTS = "dq.check_results"
# the columns of dq.check_results (warehouse/bookkeeping.py) in Spark's words
CHECK_RESULTS_SPARK_SCHEMA = (
    "run_id string, batch_id string, table_name string, check_name string, kahn_category string, severity string, "
    "status string, failing_rows bigint, total_rows bigint, threshold double, failing_pct double, "
    "rows_quarantined bigint, expectation_type string, explanation string, detail string, checked_at timestamp_ntz"
)


def record_results(
    con: duckdb.DuckDBPyConnection,
    results: Sequence[CheckResult],
    run_id: str,
    batch_id: str | None,
    quarantined: dict[str, int] | None = None,
) -> None:
    """Appends one row per check. A re-run appends again (history is per run, never overwritten)."""
    ensure_bookkeeping(con, (CHECK_RESULTS,))
    rows = check_result_rows(results, run_id, batch_id, quarantined)
    if rows:
        con.executemany(f"insert into dq.check_results values ({', '.join(['?'] * 16)})", rows)


def check_result_rows(
    results: Sequence[CheckResult], run_id: str, batch_id: str | None, quarantined: dict[str, int] | None = None
) -> list[tuple]:
    """The `dq.check_results` rows of one run, in the table's column order (both engines write these)."""
    quarantined = quarantined or {}
    now = datetime.now(UTC).replace(tzinfo=None)
    return [
        (
            run_id,
            batch_id,
            r.table_name,
            r.check_name,
            r.kahn_category,
            r.severity,
            r.status,
            r.failing_rows,
            r.total_rows,
            r.threshold,
            r.failing_pct,
            quarantined.get(r.check_name, 0),
            r.expectation_type,
            r.explanation,
            r.detail or None,
            now,
        )
        for r in results
    ]


def record_results_on_spark(
    spark_tables: SparkTables,
    results: Sequence[CheckResult],
    run_id: str,
    batch_id: str | None,
    quarantined: dict[str, int] | None = None,
) -> None:
    """The Spark engine's `dq.check_results`: the run's rows appended (the history is small: a new version holds
    the previous rows and this run's, so a failed write leaves the history as it was)."""
    rows = check_result_rows(results, run_id, batch_id, quarantined)
    session = spark_tables.spark
    frame = session.createDataFrame(rows, CHECK_RESULTS_SPARK_SCHEMA)
    if spark_tables.current(CHECK_RESULTS) is not None:
        frame = session.read.parquet(spark_tables.current(CHECK_RESULTS)).unionByName(frame)
    spark_tables.publish(CHECK_RESULTS, frame.coalesce(1), run_id)
