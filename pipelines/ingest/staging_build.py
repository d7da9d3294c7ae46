"""Building staging.<file>: typed rows of the admitted batches, one current row per natural key (newest batch wins).

Admitted batches are the accepted ones plus the one batch this run has loaded (batch_state.py): rows of a batch
that failed or was interrupted never reach staging. Rows that cannot be typed or reference nothing go to
quarantine; older copies of a natural key are recorded as superseded. Everything happens in one transaction, so
readers never see a half-built table; while a batch is pending, the table it replaces is kept aside until the
batch is accepted (restore_point.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from pipelines.cohort.code_systems import write_code_system_map
from pipelines.faults import fault_point
from pipelines.ingest.batch_state import admitted_filter
from pipelines.ingest.layout import LAYOUTS
from pipelines.ingest.reconciliation import refresh_reconciliation
from pipelines.ingest.restore_point import set_aside_staging
from pipelines.sql_runner import read_sql, transaction

EVENT_TABLES = ("conditions", "observations", "medications", "procedures")


@dataclass(frozen=True)
class StagingResult:
    rows_staged: int
    rows_quarantined: int
    rows_superseded: int


def prepare_staging(con: duckdb.DuckDBPyConnection, code_system_map_file: Path | None = None) -> None:
    """Macros and the code-system map the staging models use (the project's SYSTEM labels + the site's)."""
    con.execute("create schema if not exists staging")
    con.execute(read_sql("staging/_macros.sql"))
    write_code_system_map(con, "staging.code_system_map", code_system_map_file)


def typed_model_sql(name: str, today: date) -> str:
    """The select of all raw rows of a file, typed, with `_reject_reason` / `_reject_detail`."""
    literal = f"date '{today.isoformat()}'"
    if name in EVENT_TABLES:
        typed = read_sql(f"staging/{name}.sql")
        return read_sql("staging/_event_rules.sql", typed_model=typed, today=literal)
    return read_sql(f"staging/{name}.sql", today=literal)


def build_staging_table(con: duckdb.DuckDBPyConnection, name: str, today: date | None = None) -> StagingResult:
    layout = LAYOUTS[name]
    today = today or date.today()
    key = ", ".join(layout.natural_key)
    staged, candidates = f"staging.{name}", f"staging.{name}__next"
    con.execute(f"create or replace view staging.{name}_typed as\n{typed_model_sql(name, today)}")
    # The new table is built under a private name, outside the transaction (DuckDB scans tables made inside a
    # transaction about 2x slower); the transaction below only trims it and swaps it in.
    admitted = admitted_filter(con)
    _write_without_fsst(
        con,
        f"create or replace table {candidates} as select * from staging.{name}_typed"
        + (f" where {admitted}" if admitted else ""),
    )
    # Rows that cannot be staged move aside; the table keeps its typed columns only (a metadata change).
    con.execute(
        f"""
        create or replace temp table _rejected as
        select _batch_id, _source_line, _reject_reason, _reject_detail
        from {candidates}
        where _reject_reason is not null
        """
    )
    con.execute(f"delete from {candidates} where _reject_reason is not null")
    for column in ("_reject_reason", "_reject_detail"):
        con.execute(f"alter table {candidates} drop column {column}")
    # Most natural keys occur once: rank only the rows of keys that occur more than once
    # (newest batch, then the latest line of that batch, is the current row of a key). Keys are found by their
    # 64-bit hash, one integer instead of several strings (2x faster at 20M rows); a hash collision only adds
    # rows to rank, and the ranking partitions by the key itself. NULL key parts hash alike, so they count as
    # equal, as they do in `partition by`.
    con.execute(
        f"""
        create or replace temp table _superseded as
        with repeated_keys as (
            select hash({key}) as key_hash
            from {candidates}
            group by all
            having count(*) > 1
        ),
        ranked as (
            select
                _batch_id,
                _source_line,
                row_number() over latest as _rank,
                first_value(_batch_id) over latest as _winner_batch_id,
                first_value(_source_line) over latest as _winner_line,
            from {candidates} as candidates
            where hash({key}) in (select key_hash from repeated_keys)
            window latest as (partition by {key} order by _batch_id desc, _source_line desc)
        )
        select * exclude (_rank) from ranked where _rank > 1
        """
    )
    # The older copies leave the private table before the swap, in a transaction of their own: a transaction that
    # deletes from a table and then renames it writes a WAL DuckDB 1.5 cannot replay after a crash (duckdb#22124).
    con.execute(
        f"""
        delete from {candidates}
        where (_batch_id, _source_line) in (select (_batch_id, _source_line) from _superseded)
        """
    )
    try:
        with transaction(con):
            set_aside_staging(con, name)  # the table being replaced, and its quarantine and superseded rows
            con.execute(
                "delete from quarantine.rows where source_file = ? and stage = 'staging'", [layout.file_name]
            )
            con.execute(
                f"""
                insert into quarantine.rows
                select
                    r._batch_id,
                    $file as source_file,
                    r._source_line,
                    r._reject_reason,
                    r._reject_detail,
                    to_json(landed)::varchar as raw_record,
                    'staging' as stage,
                    now()::timestamp as quarantined_at
                from _rejected as r
                join raw.{name} as landed
                    on landed._batch_id = r._batch_id
                    and landed._source_line = r._source_line
                """,
                {"file": layout.file_name},
            )
            con.execute("delete from dq.superseded_rows where source_file = ?", [layout.file_name])
            con.execute(
                """
                insert into dq.superseded_rows
                select _batch_id, ? as source_file, _source_line, _winner_batch_id, _winner_line
                from _superseded
                """,
                [layout.file_name],
            )
            con.execute(f"alter table {candidates} rename to {name}")
            counts = con.execute(
                f"""
                select
                    (select count(*) from {staged}),
                    (select count(*) from _rejected),
                    (select count(*) from _superseded)
                """
            ).fetchone()
            refresh_reconciliation(con, name)
    finally:
        for table in ("_rejected", "_superseded"):
            con.execute(f"drop table if exists temp.{table}")
    fault_point("staging")
    return StagingResult(*counts)


def _write_without_fsst(con: duckdb.DuckDBPyConnection, statement: str) -> None:
    """Runs a bulk write without trying FSST string compression: a trade of disk for write time.

    Measured at 1M patients: the six staging tables are written 5.3 s (10 %) faster and take 2.1 GiB instead of
    1.75 GiB. Observations, the largest, come out the same size (dictionary compression wins on all its columns);
    the unique ids of encounters are where FSST saved space. Staging is rebuilt every run, so the write time
    counts on every run while 0.35 GiB is a small share of the warehouse. Raw keeps FSST: there it halves
    encounters (1.14 -> 0.53 GiB) and raw is written once.
    """
    con.execute("set disabled_compression_methods = 'fsst'")
    try:
        con.execute(statement)
    finally:
        con.execute("reset disabled_compression_methods")

