"""Data-quality history: every check of every run appended to `dq.check_results` (outputs.md columns)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import duckdb

from pipelines.quality.validate import CheckResult

_CHECK_RESULTS_DDL = """
create table if not exists dq.check_results (
    run_id varchar not null,
    batch_id varchar,
    table_name varchar not null,
    check_name varchar not null,
    kahn_category varchar not null,
    severity varchar not null,
    status varchar not null,
    failing_rows bigint,
    total_rows bigint not null,
    threshold double not null,
    failing_pct double,
    rows_quarantined bigint,
    expectation_type varchar,
    explanation varchar,
    detail varchar,
    checked_at timestamp not null
)
"""


def ensure_check_results(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists dq")
    con.execute(_CHECK_RESULTS_DDL)


def record_results(
    con: duckdb.DuckDBPyConnection,
    results: Sequence[CheckResult],
    run_id: str,
    batch_id: str | None,
    quarantined: dict[str, int] | None = None,
) -> None:
    """Appends one row per check. A re-run appends again (history is per run, never overwritten)."""
    ensure_check_results(con)
    quarantined = quarantined or {}
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
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
    if rows:
        con.executemany(f"insert into dq.check_results values ({', '.join(['?'] * 16)})", rows)


def current_batch_id(con: duckdb.DuckDBPyConnection, table: str, partition_key: str | None) -> str | None:
    """The run's partition key when there is one, else the newest batch present in the staging table."""
    if partition_key:
        return partition_key
    return con.execute(f"select max(_batch_id) from staging.{table}").fetchone()[0]
