"""DDL of the tables ingest writes into: the batch registry, quarantine, reconciliation (raw: raw_views.py)."""

from __future__ import annotations

import duckdb

from pipelines.ingest.batch_state import ensure_batch_states
from pipelines.ingest.raw_views import ensure_raw_storage

# dq.batch_reconciliation beyond the first release's columns: rows of a batch that is not accepted (held in raw,
# kept out of staging), the file's physical lines and the batch's state.
RECONCILIATION_EXTRA_COLUMNS = {
    "rows_held": "bigint",
    "lines_read": "bigint",
    "lines_blank": "bigint",
    "lines_continued": "bigint",
    "batch_state": "varchar",
}


def ensure_schemas(con: duckdb.DuckDBPyConnection) -> None:
    for schema in ("raw", "staging", "quarantine", "dq"):
        con.execute(f"create schema if not exists {schema}")
    ensure_raw_storage(con)
    con.execute(
        """
        create table if not exists raw._batches (
            batch_id varchar primary key,
            source_dir varchar,
            registered_at timestamp,
            notes varchar
        )
        """
    )
    ensure_batch_states(con)
    ensure_quarantine_table(con)
    con.execute(
        """
        create table if not exists dq.superseded_rows (
            batch_id varchar,
            source_file varchar,
            source_line bigint,
            superseded_by_batch_id varchar,
            superseded_by_line bigint
        )
        """
    )
    con.execute(
        """
        create table if not exists dq.batch_reconciliation (
            batch_id varchar,
            source_file varchar,
            rows_read bigint,
            rows_loaded bigint,
            rows_quarantined bigint,
            rows_superseded bigint,
            balanced boolean,
            computed_at timestamp
        )
        """
    )
    # Added after the first release: a warehouse made before gets the columns (NULL for the rows it had).
    for column, data_type in RECONCILIATION_EXTRA_COLUMNS.items():
        con.execute(f"alter table dq.batch_reconciliation add column if not exists {column} {data_type}")


def ensure_quarantine_table(con: duckdb.DuckDBPyConnection) -> None:
    """quarantine.rows alone: validation may run on a file that ingest has not touched yet."""
    con.execute("create schema if not exists quarantine")
    con.execute(
        """
        create table if not exists quarantine.rows (
            batch_id varchar,
            source_file varchar,
            source_line bigint,
            reason_code varchar,
            reason_detail varchar,
            raw_record varchar,
            stage varchar,
            quarantined_at timestamp
        )
        """
    )
