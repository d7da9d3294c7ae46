"""raw.<file> as a view over one table per landed batch file (schema raw_batches).

A batch file is written once, straight from read_csv into its own table, in file order. The view adds the
lineage: the batch id, the file name and the load time are constants of the table, and the source line is the
row's position in it (its rowid), moved past the lines DuckDB rejected. Nothing of a batch is copied twice,
and replacing a batch swaps one table instead of deleting its rows from a shared one.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from pipelines.contract.synthea import FileLayout
from pipelines.warehouse import ensure_bookkeeping, quote_ident, quote_literal, table_exists

BATCH_SCHEMA = "raw_batches"
# What was read of a delivered file (columns of raw._landed_files): the name it was delivered as, the bytes and
# their SHA-256, the physical lines after the header, blank lines, and extra lines of records spanning lines.
LANDED_FILE_MEASURES = ("delivered_as", "bytes_read", "sha256", "lines_read", "lines_blank", "lines_continued")
LINEAGE = ("_extra_columns", "_batch_id", "_source_file", "_source_line", "_loaded_at")


def batch_table_name(layout: FileLayout, batch_id: str) -> str:
    """The name of one batch's table of a file in raw_batches, e.g. observations@2026-05-31."""
    return f"{layout.name}@{batch_id}"


def batch_table(layout: FileLayout, batch_id: str, suffix: str = "") -> str:
    """The qualified, quoted name of that table (or of its stand-in being written, with a suffix)."""
    return f"{BATCH_SCHEMA}.{quote_ident(batch_table_name(layout, batch_id) + suffix)}"


def batch_table_exists(con: duckdb.DuckDBPyConnection, layout: FileLayout, batch_id: str) -> bool:
    return table_exists(con, f"{BATCH_SCHEMA}.{batch_table_name(layout, batch_id)}")


def ensure_raw_view(con: duckdb.DuckDBPyConnection, layout: FileLayout) -> None:
    """raw.<file> exists (empty before the first batch)."""
    ensure_bookkeeping(con, ("raw._landed_files", "raw._line_shifts"))
    if not table_exists(con, f"raw.{layout.name}"):
        rebuild_raw_view(con, layout)


def rebuild_raw_view(con: duckdb.DuckDBPyConnection, layout: FileLayout) -> None:
    """raw.<file> as the union of the file's batch tables (call in the transaction that changed them)."""
    landed = con.execute(
        "select batch_id, table_name, loaded_at from raw._landed_files where source_file = ? order by batch_id",
        [layout.file_name],
    ).fetchall()
    shifted = {
        batch for (batch,) in con.execute(
            "select distinct batch_id from raw._line_shifts where source_file = ?", [layout.file_name]
        ).fetchall()
    }
    stored = dict(
        con.execute(
            "select table_name, list(column_name) from duckdb_columns() "
            "where schema_name = ? and database_name = current_database() group by all",
            [BATCH_SCHEMA],
        ).fetchall()
    )
    arms = [
        _batch_arm(layout, batch, table, loaded_at, set(stored[table]), batch in shifted)
        for batch, table, loaded_at in landed
    ]
    if not arms:
        columns = [f"null::varchar as {quote_ident(c)}" for c in (*layout.columns, *LINEAGE[:3])]
        arms = [f"select {', '.join(columns)}, null::bigint as _source_line, null::timestamp as _loaded_at where false"]
    con.execute(f"create or replace view raw.{layout.name} as\n" + "\nunion all\n".join(arms))


def _batch_arm(
    layout: FileLayout, batch_id: str, table: str, loaded_at: datetime, stored: set[str], shifted: bool
) -> str:
    """One batch table's rows with the layout's columns (NULL where the file had none) and the lineage."""
    columns = [
        f"landed.{quote_ident(c)}" if c in stored else f"null::varchar as {quote_ident(c)}"
        for c in (*layout.columns, "_extra_columns")
    ]
    # The header is line 1: the k-th record (rowid k - 1) is on line k + 1, plus the rejected lines before it.
    line = "landed.rowid + 2" + (" + coalesce(steps.shift, 0)" if shifted else "")
    shift_join = (
        f"""
        asof left join (
            select threshold, shift from raw._line_shifts
            where batch_id = {quote_literal(batch_id)} and source_file = {quote_literal(layout.file_name)}
        ) as steps
            on landed.rowid + 1 >= steps.threshold"""
        if shifted
        else ""
    )
    return f"""select
        {", ".join(columns)},
        {quote_literal(batch_id)} as _batch_id,
        {quote_literal(layout.file_name)} as _source_file,
        {line} as _source_line,
        timestamp {quote_literal(str(loaded_at))} as _loaded_at
    from {BATCH_SCHEMA}.{quote_ident(table)} as landed{shift_join}"""


def register_batch_table(
    con: duckdb.DuckDBPyConnection,
    layout: FileLayout,
    batch_id: str,
    rows_landed: int,
    rows_rejected: int,
    measures: dict[str, object] | None = None,
) -> None:
    """Records a batch's table of a file, loaded now. `measures` holds LANDED_FILE_MEASURES of the file read."""
    measures = measures or {}
    con.execute(
        f"""
        insert or replace into raw._landed_files
            (batch_id, source_file, table_name, loaded_at, rows_landed, rows_rejected,
             {", ".join(LANDED_FILE_MEASURES)})
        values (?, ?, ?, now()::timestamp, ?, ?, {", ".join("?" for _ in LANDED_FILE_MEASURES)})
        """,
        [
            batch_id,
            layout.file_name,
            batch_table_name(layout, batch_id),
            rows_landed,
            rows_rejected,
            *(measures.get(column) for column in LANDED_FILE_MEASURES),
        ],
    )


def forget_batch_table(con: duckdb.DuckDBPyConnection, layout: FileLayout, batch_id: str) -> None:
    """Drops a batch's table of a file and its bookkeeping (the view must be rebuilt after)."""
    con.execute(f"drop table if exists {batch_table(layout, batch_id)}")
    for table in ("raw._landed_files", "raw._line_shifts"):
        con.execute(f"delete from {table} where batch_id = ? and source_file = ?", [batch_id, layout.file_name])
