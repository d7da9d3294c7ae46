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
LANDED = "_landed"  # temp table: the file's parsed records, in file order
REJECTS = "_rejects"  # temp table: DuckDB's rejected records of the same scan
REJECT_SCANS = "_reject_scans"


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
    try:
        # Parsed outside the transaction: DuckDB scans temp tables made inside one about 2x slower.
        if file.path is not None:
            _parse_file(con, file)
        con.execute("begin transaction")
        try:
            con.execute(f"delete from raw.{layout.name} where _batch_id = ?", [batch_id])
            con.execute(
                "delete from quarantine.rows where batch_id = ? and source_file = ? and stage = 'parse'",
                [batch_id, layout.file_name],
            )
            result = RawLoadResult(0, 0) if file.path is None else _append_parsed(con, batch_id, file)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        for table in (LANDED, REJECTS, REJECT_SCANS):
            con.execute(f"drop table if exists temp.{table}")
    return result


def _parse_file(con: duckdb.DuckDBPyConnection, file: FileHeader) -> None:
    """The file's records, all text, exactly as delivered, into a temp table whose rowid is the file order.

    A temp table numbered by rowid, not `row_number() over ()`: the window would make the insert single-threaded
    (measured 1.6x slower).
    """
    for table in (LANDED, REJECTS, REJECT_SCANS):
        con.execute(f"drop table if exists temp.{table}")
    columns = "{" + ", ".join(f"{_quote_literal(c)}: 'VARCHAR'" for c in file.header) + "}"
    # Explicit columns, no sniffing: every field lands as text.
    con.execute(
        f"""
        create temp table {LANDED} as
        select *
        from read_csv(
            {_quote_literal(str(file.path))},
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


def _append_parsed(con: duckdb.DuckDBPyConnection, batch_id: str, file: FileHeader) -> RawLoadResult:
    layout = file.layout
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
    rejected = _quarantine_rejects(con, batch_id, layout.file_name)
    con.execute(
        f"""
        insert into raw.{layout.name}
        select
            {", ".join(selected)},
            {extra} as _extra_columns,
            ? as _batch_id,
            ? as _source_file,
            {_source_line_sql(rejected)} as _source_line,
            now()::timestamp as _loaded_at
        from temp.{LANDED} as landed
        {_line_shift_join(rejected)}
        """,
        [batch_id, layout.file_name],
    )
    return RawLoadResult(con.execute(f"select count(*) from temp.{LANDED}").fetchone()[0], rejected)


def _source_line_sql(rejected: int) -> str:
    # The header is line 1; the k-th parsed record (rowid k - 1) is on line k + 1 when nothing was rejected.
    return "landed.rowid + 2" if not rejected else "landed.rowid + 2 + coalesce(steps.shift, 0)"


def _line_shift_join(rejected: int) -> str:
    """Records after a rejected one were numbered as if it were not there: shift them past the rejects.

    With rejected lines r_1 < r_2 < … , the k-th accepted record follows m of them, m = max{j : r_j − j ≤ k}.
    """
    if not rejected:
        return ""
    return f"""
        asof left join (
            select threshold, max(j) as shift
            from (
                -- the j-th rejected line comes after `threshold` accepted records
                select
                    line - row_number() over (order by line) as threshold,
                    row_number() over (order by line) as j,
                from (select distinct line from temp.{REJECTS})
            )
            group by threshold
        ) as steps
            on landed.rowid + 1 >= steps.threshold
    """


def _quarantine_rejects(con: duckdb.DuckDBPyConnection, batch_id: str, file_name: str) -> int:
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
        from temp.{REJECTS}
        qualify row_number() over (partition by line order by column_idx) = 1
        """,
        [batch_id, file_name],
    )
    return con.execute(f"select count(distinct line) from temp.{REJECTS}").fetchone()[0]
