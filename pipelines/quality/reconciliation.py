"""Fallback `refresh_reconciliation(con, table)` for staging tables not built by the ingest (no raw._batches).

Recounts one file's row fates per batch after validation moved rows to quarantine:
rows_read (raw, or the value already recorded) = loaded (staging) + quarantined (distinct lines) + superseded.
"""

from __future__ import annotations

import duckdb

_DDL = """
create table if not exists dq.batch_reconciliation (
    batch_id varchar,
    source_file varchar,
    rows_read bigint,
    rows_loaded bigint,
    rows_quarantined bigint,
    rows_superseded bigint
)
"""


def refresh_reconciliation(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Runs inside the caller's transaction."""
    con.execute("create schema if not exists dq")
    con.execute(_DDL)
    source_file = f"{table}.csv"
    has_raw = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'raw' and table_name = ?",
        [table],
    ).fetchone()[0]
    read_sql = (
        f"select _batch_id as batch_id, count(*) as rows_read from raw.{table} group by 1"
        if has_raw
        else "select batch_id, max(rows_read) as rows_read from dq.batch_reconciliation "
        "where source_file = $file group by 1"
    )
    con.execute(
        f"""create or replace temp table _dq_recon as
            with read as ({read_sql}),
            loaded as (select _batch_id as batch_id, count(*) as n from staging.{table} group by 1),
            quarantined as (
                select batch_id, count(distinct source_line) as n from quarantine.rows
                where source_file = $file group by 1
            )
            select read.batch_id, $file as source_file, read.rows_read,
                   coalesce(loaded.n, 0) as rows_loaded, coalesce(quarantined.n, 0) as rows_quarantined,
                   read.rows_read - coalesce(loaded.n, 0) - coalesce(quarantined.n, 0) as rows_superseded
            from read
            left join loaded using (batch_id)
            left join quarantined using (batch_id)""",
        {"file": source_file},
    )
    con.execute("delete from dq.batch_reconciliation where source_file = ?", [source_file])
    con.execute("insert into dq.batch_reconciliation by name select * from _dq_recon")
    con.execute("drop table temp._dq_recon")
