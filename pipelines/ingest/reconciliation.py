"""dq.batch_reconciliation: every landed row is accounted for, per batch and file.

Each side is counted from where the rows really are (raw, staging, quarantine, superseded ledger), so the
identity rows_read = loaded + quarantined + superseded (+ held, the rows of a batch that was not accepted: they
stay in raw, out of staging) fails when a row is lost or counted twice. The file's physical lines are balanced
too: lines_read = rows_read + blank lines + the extra lines of records whose quoted fields span lines, so a
record that swallowed the lines after it cannot pass for one row.
"""

from __future__ import annotations

import duckdb

from pipelines.contract.synthea import LAYOUTS


def refresh_reconciliation(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Recomputes the rows of one file for every batch (call inside the transaction that changed them)."""
    file_name = LAYOUTS[name].file_name
    con.execute("delete from dq.batch_reconciliation where source_file = ?", [file_name])
    con.execute(
        f"""
        insert into dq.batch_reconciliation (
            batch_id, source_file, rows_read, rows_loaded, rows_quarantined, rows_superseded, rows_held,
            lines_read, lines_blank, lines_continued, batch_state, balanced, computed_at
        )
        with batches as (
            select batch_id, coalesce(state, 'accepted') as batch_state from raw._batches
        ),
        lines as (
            select batch_id, lines_read, lines_blank, lines_continued
            from raw._landed_files
            where source_file = $file
        ),
        raw_rows as (
            select _batch_id as batch_id, count(*) as n from raw.{name} group by all
        ),
        read_rows as (
            select batch_id, n from raw_rows
            union all
            select batch_id, count(*) from quarantine.rows
            where source_file = $file and stage = 'parse' group by all
        ),
        loaded as (
            select _batch_id as batch_id, count(*) as n from staging.{name} group by all
        ),
        quarantined as (
            select batch_id, count(*) as n from quarantine.rows where source_file = $file group by all
        ),
        superseded as (
            select batch_id, count(*) as n from dq.superseded_rows where source_file = $file group by all
        ),
        counted as (
            select
                b.batch_id,
                $file as source_file,
                coalesce((select sum(n) from read_rows r where r.batch_id = b.batch_id), 0) as rows_read,
                coalesce((select n from loaded l where l.batch_id = b.batch_id), 0) as rows_loaded,
                coalesce((select n from quarantined q where q.batch_id = b.batch_id), 0) as rows_quarantined,
                coalesce((select n from superseded s where s.batch_id = b.batch_id), 0) as rows_superseded,
                case
                    when b.batch_state in ('accepted', 'loaded') then 0
                    else coalesce((select n from raw_rows h where h.batch_id = b.batch_id), 0)
                end as rows_held,
                f.lines_read,
                f.lines_blank,
                f.lines_continued,
                b.batch_state,
            from batches as b
            left join lines as f on f.batch_id = b.batch_id
        )
        select
            *,
            rows_read = rows_loaded + rows_quarantined + rows_superseded + rows_held
                and (lines_read is null or lines_read = rows_read + lines_blank + lines_continued) as balanced,
            now()::timestamp as computed_at,
        from counted
        """,
        {"file": file_name},
    )


def record_batch_state(con: duckdb.DuckDBPyConnection, batch_id: str, state: str) -> None:
    """The batch's state on its reconciliation rows (the batch was accepted or rejected after they were counted)."""
    con.execute("update dq.batch_reconciliation set batch_state = ? where batch_id = ?", [state, batch_id])
