"""Landing one file of one batch in raw.<file>, inside DuckDB (read_csv, no Python row loops).

A batch's rows of a file are replaced in one transaction: re-running a batch never duplicates rows and a crash
never leaves half of it. Records DuckDB cannot parse go to quarantine.rows with the original line.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.ingest.batch import FileHeader
from pipelines.ingest.storage import ensure_raw_table

# DuckDB's reject error types -> our quarantine reason codes.
PARSE_REASONS = {
    "TOO MANY COLUMNS": "too_many_fields",
    "MISSING COLUMNS": "too_few_fields",
    "INVALID ENCODING": "invalid_encoding",
    "INVALID UNICODE": "invalid_encoding",
}


@dataclass(frozen=True)
class RawLoadResult:
    rows_loaded: int
    rows_rejected: int


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def load_raw_file(con: duckdb.DuckDBPyConnection, batch_id: str, file: FileHeader) -> RawLoadResult:
    """Replaces this batch's rows of one file in raw and its parse rejects in quarantine."""
    layout = file.layout
    ensure_raw_table(con, layout)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from raw.{layout.name} where _batch_id = ?", [batch_id])
        con.execute(
            "delete from quarantine.rows where batch_id = ? and source_file = ? and stage = 'parse'",
            [batch_id, layout.file_name],
        )
        result = RawLoadResult(0, 0) if file.path is None else _append_file(con, batch_id, file)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return result


def _append_file(con: duckdb.DuckDBPyConnection, batch_id: str, file: FileHeader) -> RawLoadResult:
    layout = file.layout
    rejects = f"_rejects_{layout.name}"
    scans = f"_reject_scans_{layout.name}"
    for table in (rejects, scans):
        con.execute(f"drop table if exists temp.{table}")
    columns = "{" + ", ".join(f"{_quote_literal(c)}: 'VARCHAR'" for c in file.header) + "}"
    # Explicit columns, no sniffing: every field lands as text, exactly as delivered.
    read_csv = (
        f"read_csv({_quote_literal(str(file.path))}, columns = {columns}, header = true, auto_detect = false, "
        f"delim = ',', quote = '\"', escape = '\"', strict_mode = true, encoding = 'utf-8', "
        f"store_rejects = true, rejects_table = '{rejects}', rejects_scan = '{scans}')"
    )
    selected = [
        f"{_quote_ident(file.column_map[c])} as {_quote_ident(c)}" if c in file.column_map
        else f"null::varchar as {_quote_ident(c)}"
        for c in layout.columns
    ]
    extra = (
        "to_json(struct_pack(" + ", ".join(f"{_quote_ident(c)} := {_quote_ident(c)}" for c in file.extra_columns)
        + "))::varchar"
        if file.extra_columns else "null::varchar"
    )
    # row_number() over () is a streaming window in DuckDB: it numbers records in file order.
    con.execute(
        f"""
        insert into raw.{layout.name}
        select
            {", ".join(selected)},
            {extra} as _extra_columns,
            ? as _batch_id,
            ? as _source_file,
            row_number() over () + 1 as _source_line,
            now()::timestamp as _loaded_at
        from {read_csv}
        """,
        [batch_id, layout.file_name],
    )
    rejected = _quarantine_rejects(con, batch_id, layout.name, layout.file_name, rejects)
    if rejected:
        _fix_line_numbers(con, batch_id, layout.name, rejects)
    loaded = con.execute(f"select count(*) from raw.{layout.name} where _batch_id = ?", [batch_id]).fetchone()[0]
    for table in (rejects, scans):
        con.execute(f"drop table if exists temp.{table}")
    return RawLoadResult(loaded, rejected)


def _quarantine_rejects(
    con: duckdb.DuckDBPyConnection, batch_id: str, name: str, file_name: str, rejects: str
) -> int:
    mapping = " ".join(f"when {_quote_literal(k)} then {_quote_literal(v)}" for k, v in PARSE_REASONS.items())
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
        from temp.{rejects}
        qualify row_number() over (partition by line order by column_idx) = 1
        """,
        [batch_id, file_name],
    )
    return con.execute(f"select count(distinct line) from temp.{rejects}").fetchone()[0]


def _fix_line_numbers(con: duckdb.DuckDBPyConnection, batch_id: str, name: str, rejects: str) -> None:
    """Records after a rejected one were numbered as if it were not there: shift them past the rejects.

    With rejected lines r_1 < r_2 < … , the k-th accepted record follows m of them, m = max{j : r_j − j ≤ k}.
    """
    con.execute(
        f"""
        create or replace temp table _line_shift as
        with rejected as (
            select distinct line from temp.{rejects}
        ),
        thresholds as (
            -- the j-th rejected line comes after `threshold` accepted records and before the next one
            select
                line - row_number() over (order by line) as threshold,
                row_number() over (order by line) as j,
            from rejected
        ),
        steps as (
            select threshold, max(j) as shift from thresholds group by threshold
        ),
        accepted as (
            select _source_line as provisional_line from raw.{name} where _batch_id = ?
        )
        select accepted.provisional_line, accepted.provisional_line + steps.shift as true_line
        from accepted
        asof join steps
            on accepted.provisional_line - 1 >= steps.threshold
        """,
        [batch_id],
    )
    con.execute(
        f"""
        update raw.{name}
        set _source_line = s.true_line
        from _line_shift as s
        where raw.{name}._batch_id = ? and raw.{name}._source_line = s.provisional_line
        """,
        [batch_id],
    )
    con.execute("drop table if exists temp._line_shift")
