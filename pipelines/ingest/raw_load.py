"""Landing one file of one batch: its records, all text, in a table of their own (see raw_views.py).

A batch's file is replaced in one transaction: re-running a batch never duplicates rows and a crash never
leaves half of it. Records DuckDB cannot parse go to quarantine.rows with the original line.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.ingest.batch import FileHeader
from pipelines.ingest.raw_views import (
    batch_table,
    batch_table_name,
    ensure_raw_view,
    forget_batch_table,
    rebuild_raw_view,
    register_batch_table,
)
from pipelines.sql_runner import quote_ident, quote_literal, transaction

# DuckDB's reject error types -> our quarantine reason codes.
PARSE_REASONS = {
    "TOO MANY COLUMNS": "too_many_fields",
    "MISSING COLUMNS": "too_few_fields",
    "INVALID ENCODING": "invalid_encoding",
    "INVALID UNICODE": "invalid_encoding",
}
REJECTS = "_rejects"  # temp table: DuckDB's rejected records of the scan
REJECT_SCANS = "_reject_scans"
NEXT = "__next"  # suffix of a batch table being written, before it replaces the current one


@dataclass(frozen=True)
class RawLoadResult:
    rows_loaded: int
    rows_rejected: int


def load_raw_file(con: duckdb.DuckDBPyConnection, batch_id: str, file: FileHeader) -> RawLoadResult:
    """Replaces this batch's rows of one file in raw and its parse rejects in quarantine."""
    layout = file.layout
    ensure_raw_view(con, layout)
    incoming = batch_table(layout, batch_id, NEXT)
    try:
        # Written outside the transaction under a private name: DuckDB scans tables made inside one about 2x
        # slower. The transaction only swaps it in.
        if file.path is not None:
            _land_file(con, file, incoming)
        with transaction(con):
            forget_batch_table(con, layout, batch_id)
            con.execute(
                "delete from quarantine.rows where batch_id = ? and source_file = ? and stage = 'parse'",
                [batch_id, layout.file_name],
            )
            result = RawLoadResult(0, 0)
            if file.path is not None:
                rejected = _quarantine_rejects(con, batch_id, layout.file_name)
                _record_line_shifts(con, batch_id, layout.file_name, rejected)
                landed = con.execute(f"select count(*) from {incoming}").fetchone()[0]
                con.execute(f"alter table {incoming} rename to {quote_ident(batch_table_name(layout, batch_id))}")
                register_batch_table(con, layout, batch_id, landed, rejected)
                result = RawLoadResult(landed, rejected)
            rebuild_raw_view(con, layout)
    finally:
        con.execute(f"drop table if exists {incoming}")
        for table in (REJECTS, REJECT_SCANS):
            con.execute(f"drop table if exists temp.{table}")
    return result


def _land_file(con: duckdb.DuckDBPyConnection, file: FileHeader, target: str) -> None:
    """The file's records, all text, exactly as delivered and in file order (the rowid is the record number).

    Known columns take their canonical name; unknown ones are kept as JSON text in _extra_columns.
    """
    con.execute(f"drop table if exists {target}")
    for table in (REJECTS, REJECT_SCANS):
        con.execute(f"drop table if exists temp.{table}")
    columns = "{" + ", ".join(f"{quote_literal(c)}: 'VARCHAR'" for c in file.header) + "}"
    selected = [
        f"{quote_ident(file.column_map[c])} as {quote_ident(c)}" for c in file.layout.columns if c in file.column_map
    ]
    if file.extra_columns:
        pairs = ", ".join(f"{quote_ident(c)} := {quote_ident(c)}" for c in file.extra_columns)
        selected.append(f"to_json(struct_pack({pairs}))::varchar as _extra_columns")
    # Explicit columns, no sniffing: every field lands as text.
    con.execute(
        f"""
        create table {target} as
        select {", ".join(selected)}
        from read_csv(
            {quote_literal(str(file.path))},
            columns = {columns},
            header = true,
            auto_detect = false,
            delim = ',',
            quote = '"',
            escape = '"',
            strict_mode = true,
            encoding = 'utf-8',
            store_rejects = true,
            rejects_table = '{REJECTS}',
            rejects_scan = '{REJECT_SCANS}'
        )
        """
    )


def _record_line_shifts(con: duckdb.DuckDBPyConnection, batch_id: str, file_name: str, rejected: int) -> None:
    """Records after a rejected one are numbered as if it were not there: keep the steps that move them past it.

    With rejected lines r_1 < r_2 < … , the k-th accepted record follows m of them, m = max{j : r_j − j ≤ k}.
    """
    if not rejected:
        return
    con.execute(
        f"""
        insert into raw._line_shifts
        select ?, ?, threshold, max(j) as shift
        from (
            -- the j-th rejected line comes after `threshold` accepted records
            select
                line - row_number() over (order by line) as threshold,
                row_number() over (order by line) as j,
            from (select distinct line from temp.{REJECTS})
        )
        group by threshold
        """,
        [batch_id, file_name],
    )


def _quarantine_rejects(con: duckdb.DuckDBPyConnection, batch_id: str, file_name: str) -> int:
    mapping = " ".join(f"when {quote_literal(k)} then {quote_literal(v)}" for k, v in PARSE_REASONS.items())
    con.execute(
        f"""
        insert into quarantine.rows
        select
            ? as batch_id,
            ? as source_file,
            line as source_line,
            case upper(error_type::varchar) {mapping} else 'unparseable_row' end as reason_code,
            error_message as reason_detail,
            csv_line as raw_record,
            'parse' as stage,
            now()::timestamp as quarantined_at
        from temp.{REJECTS}
        qualify row_number() over (partition by line order by column_idx) = 1
        """,
        [batch_id, file_name],
    )
    return con.execute(f"select count(distinct line) from temp.{REJECTS}").fetchone()[0]
