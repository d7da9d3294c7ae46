"""The restore point of a batch run: what the warehouse looked like before the pending batch touched it.

A batch run changes raw (the batch's own tables) and staging (every table, rebuilt with the batch) before its
blocking checks have passed. Whatever it is about to replace is set aside first, in the same transaction as the
replacement:

- raw: the batch's previous tables, when the batch had been accepted before (a re-delivery or a reprocess), with
  their bookkeeping rows and parse quarantine;
- staging: each table as it was (renamed to `staging."<table>__accepted"`), with the table's staging and
  validation quarantine rows and its superseded-rows ledger.

Acceptance discards the restore point (`discard`); rejection, a failure hook or the next run after a kill rolls
back to it (`roll_back`), so the warehouse is again exactly as the last accepted batch left it. Everything lives
in schema `restore_point`, and the point is open while `restore_point.opened` has a row.
"""

from __future__ import annotations

import duckdb

from pipelines.contract.synthea import LAYOUTS, FileLayout
from pipelines.ingest.batch_state import ACCEPTED, REJECTED, set_state
from pipelines.ingest.quarantine import forget_parse_rejects
from pipelines.ingest.raw_views import BATCH_SCHEMA, batch_table, batch_table_name, forget_batch_table, rebuild_raw_view
from pipelines.ingest.reconciliation import refresh_reconciliation
from pipelines.warehouse import quote_ident, table_exists, transaction
from pipelines.warehouse.engine_exchange import mark_spark_stale

SCHEMA = "restore_point"
ACCEPTED_SUFFIX = "__accepted"
# Live table -> its rows set aside, and which of its rows belong to a raw file or a staging table.
_RAW_ROWS = {
    "raw._landed_files": "batch_id = $batch and source_file = $file",
    "raw._line_shifts": "batch_id = $batch and source_file = $file",
    "quarantine.rows": "batch_id = $batch and source_file = $file and stage = 'parse'",
}
_STAGING_ROWS = {
    "quarantine.rows": "source_file = $file and stage in ('staging', 'validation')",
    "dq.superseded_rows": "source_file = $file",
    "dq.staging_rule_failures": "source_file = $file",
    "dq.staging_rule_counts": "source_file = $file",
}
# A staging build for some patients (staging_scope.py) replaces rows, not tables: the rows it replaces are set aside
# and the lines it read recorded; rolling back deletes every row of those lines and puts the set-aside rows back.
_LINE_ROWS = ("quarantine.rows", "dq.superseded_rows", "dq.staging_rule_failures")
_COUNTS = {"dq.staging_rule_counts": "source_file = $file"}
STAGING_ROWS = "staging_rows"  # the kind of a set-aside of rows (`set_aside` table)


def _backup(table: str) -> str:
    return f"{SCHEMA}.{quote_ident(table.replace('.', '__'))}"


def ensure_restore_point(con: duckdb.DuckDBPyConnection) -> None:
    """The schema and its tables (needs the live tables: call after ensure_schemas)."""
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(
        f"create table if not exists {SCHEMA}.opened (batch_id varchar, previous_state varchar, opened_at timestamp)"
    )
    con.execute(f"create table if not exists {SCHEMA}.set_aside (kind varchar, name varchar, existed boolean)")
    con.execute(
        f"create table if not exists {SCHEMA}.replaced_lines "
        "(source_file varchar, batch_id varchar, source_line bigint)"
    )


def open_batch(con: duckdb.DuckDBPyConnection, batch_id: str) -> None:
    """Opens the restore point of a batch run (inside the caller's transaction, before the batch is registered)."""
    ensure_restore_point(con)
    if opened_batch(con) is not None:
        raise RuntimeError("a restore point is already open: roll it back first")
    # Empty while no point is open: made afresh, so that they always have the live tables' columns.
    con.execute(f"create or replace table {SCHEMA}.batch_row as select * from raw._batches limit 0")
    for table in {*_RAW_ROWS, *_STAGING_ROWS}:
        con.execute(f"create or replace table {_backup(table)} as select *, ''::varchar as _scope from {table} limit 0")
    previous = con.execute("select state from raw._batches where batch_id = ?", [batch_id]).fetchone()
    con.execute(f"insert into {SCHEMA}.opened values (?, ?, now()::timestamp)", [batch_id, previous and previous[0]])
    con.execute(f"insert into {SCHEMA}.batch_row select * from raw._batches where batch_id = ?", [batch_id])


def opened_batch(con: duckdb.DuckDBPyConnection) -> str | None:
    if not table_exists(con, f"{SCHEMA}.opened"):
        return None
    row = con.execute(f"select batch_id from {SCHEMA}.opened").fetchone()
    return row[0] if row else None


def set_aside_raw(con: duckdb.DuckDBPyConnection, layout: FileLayout, batch_id: str) -> None:
    """Before a batch's file is replaced (inside the replacing transaction): keep the accepted version aside when
    the batch had been accepted, else just drop the old version."""
    keep = (
        con.execute(
            f"select count(*) from {SCHEMA}.opened where batch_id = ? and previous_state = ?", [batch_id, ACCEPTED]
        ).fetchone()[0]
        if opened_batch(con) is not None
        else 0
    )
    name = batch_table_name(layout, batch_id)
    if keep and not _is_set_aside(con, "raw", name):
        existed = table_exists(con, f"{BATCH_SCHEMA}.{name}")
        if existed:
            con.execute(f"alter table {batch_table(layout, batch_id)} rename to {quote_ident(name + ACCEPTED_SUFFIX)}")
        _move_rows(con, _RAW_ROWS, {"batch": batch_id, "file": layout.file_name}, scope=name)
        con.execute(f"insert into {SCHEMA}.set_aside values ('raw', ?, ?)", [name, existed])
        return
    forget_batch_table(con, layout, batch_id)
    forget_parse_rejects(con, batch_id, layout.file_name)


def set_aside_staging(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Before staging.<name> is replaced (inside the replacing transaction): while a batch is pending, keep the
    accepted version aside (once per run); else drop it as before."""
    staged = f"staging.{quote_ident(name)}"
    if opened_batch(con) is not None and not _is_set_aside(con, "staging", name):
        existed = table_exists(con, f"staging.{name}")
        if existed:
            con.execute(f"alter table {staged} rename to {quote_ident(name + ACCEPTED_SUFFIX)}")
        _move_rows(con, _STAGING_ROWS, {"file": LAYOUTS[name].file_name}, scope=name)
        con.execute(f"insert into {SCHEMA}.set_aside values ('staging', ?, ?)", [name, existed])
        return
    con.execute(f"drop table if exists {staged}")


def set_aside_staging_rows(
    con: duckdb.DuckDBPyConnection, name: str, staged_where: str, lines_where: str, candidate_lines: str
) -> None:
    """Before a build for some patients replaces rows of staging.<name> (inside the replacing transaction): while
    a batch is pending, keep the rows matching `staged_where`, the quarantine and ledger rows matching
    `lines_where`, the rule counts, and the lines read (`candidate_lines`: _batch_id, _source_line). The caller
    deletes and inserts."""
    if opened_batch(con) is None or _is_set_aside(con, STAGING_ROWS, name):
        return
    params = {"file": LAYOUTS[name].file_name}
    con.execute(
        f"insert into {SCHEMA}.replaced_lines select $file, _batch_id, _source_line from {candidate_lines}", params
    )
    con.execute(
        f"create or replace table {_rows_backup(name)} as select * from staging.{quote_ident(name)} "
        f"where {staged_where}"
    )
    for table in _LINE_ROWS:
        con.execute(
            f"insert into {_backup(table)} select *, $scope from {table} where {_STAGING_ROWS[table]} and "
            f"{lines_where}",
            {**params, "scope": name},
        )
    _move_rows(con, _COUNTS, params, scope=name)
    con.execute(f"insert into {SCHEMA}.set_aside values (?, ?, true)", [STAGING_ROWS, name])


def _rows_backup(name: str) -> str:
    return f"{SCHEMA}.{quote_ident('staging_rows__' + name)}"


def _restore_staging_rows(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Undoes a build for some patients: every row of the lines it read goes, the rows it replaced come back."""
    params = {"file": LAYOUTS[name].file_name}
    lines = f"(select (batch_id, source_line) from {SCHEMA}.replaced_lines where source_file = $file)"
    con.execute(f"delete from staging.{quote_ident(name)} where (_batch_id, _source_line) in {lines}", params)
    con.execute(f"insert into staging.{quote_ident(name)} select * from {_rows_backup(name)}")
    for table in _LINE_ROWS:
        con.execute(
            f"delete from {table} where {_STAGING_ROWS[table]} and (batch_id, source_line) in {lines}", params
        )
        con.execute(
            f"insert into {table} select * exclude (_scope) from {_backup(table)} where _scope = $scope",
            {"scope": name},
        )
    _restore_rows(con, _COUNTS, params, scope=name)
    con.execute(f"drop table if exists {_rows_backup(name)}")


def discard(con: duckdb.DuckDBPyConnection) -> None:
    """The pending batch is accepted: what was set aside goes (call inside the accepting transaction)."""
    if opened_batch(con) is None:
        return
    for kind, name, existed in con.execute(f"select kind, name, existed from {SCHEMA}.set_aside").fetchall():
        if kind == STAGING_ROWS:
            con.execute(f"drop table if exists {_rows_backup(name)}")
        elif existed:
            con.execute(f"drop table if exists {_aside_table(kind, name)}")
    _clear(con)


def roll_back(con: duckdb.DuckDBPyConnection, reason: str) -> str | None:
    """Puts back everything set aside and marks the pending batch rejected (or back to accepted when it had been
    accepted before: its previous delivery stays in force). Returns the batch id, None if nothing was open."""
    batch_id = opened_batch(con)
    if batch_id is None:
        return None
    with transaction(con):
        previous_state = con.execute(f"select previous_state from {SCHEMA}.opened").fetchone()[0]
        aside = con.execute(f"select kind, name, existed from {SCHEMA}.set_aside").fetchall()
        raw_layouts = set()
        for kind, name, existed in aside:
            if kind == STAGING_ROWS:
                _restore_staging_rows(con, name)
                continue
            live = _live_table(kind, name)
            con.execute(f"drop table if exists {live}")
            if existed:
                con.execute(f"alter table {_aside_table(kind, name)} rename to {quote_ident(name)}")
            if kind == "raw":
                layout = LAYOUTS[name.split("@", 1)[0]]
                raw_layouts.add(layout.name)
                _restore_rows(con, _RAW_ROWS, {"batch": batch_id, "file": layout.file_name}, scope=name)
            else:
                _restore_rows(con, _STAGING_ROWS, {"file": LAYOUTS[name].file_name}, scope=name)
        if previous_state == ACCEPTED:
            con.execute("delete from raw._batches where batch_id = ?", [batch_id])
            con.execute(f"insert into raw._batches select * from {SCHEMA}.batch_row")
            con.execute(
                "update raw._batches set state_reason = ? where batch_id = ?",
                [f"kept its accepted delivery; a later run was rejected: {reason}"[:2000], batch_id],
            )
        else:
            set_state(con, batch_id, REJECTED, reason[:2000])
        for name in sorted(raw_layouts):
            rebuild_raw_view(con, LAYOUTS[name])
        for kind, name, _ in aside:
            if kind in ("staging", STAGING_ROWS) and table_exists(con, f"staging.{name}"):
                refresh_reconciliation(con, name)
                if table_exists(con, "raw._spark_stale_tables"):  # the Spark engine built it with the batch's rows
                    mark_spark_stale(con, f"staging.{name}")
        _clear(con)
    return batch_id


def _is_set_aside(con: duckdb.DuckDBPyConnection, kind: str, name: str) -> bool:
    return bool(
        con.execute(f"select count(*) from {SCHEMA}.set_aside where kind = ? and name = ?", [kind, name]).fetchone()[0]
    )


def _live_table(kind: str, name: str) -> str:
    return f"{BATCH_SCHEMA if kind == 'raw' else 'staging'}.{quote_ident(name)}"


def _aside_table(kind: str, name: str) -> str:
    return f"{BATCH_SCHEMA if kind == 'raw' else 'staging'}.{quote_ident(name + ACCEPTED_SUFFIX)}"


def _move_rows(con: duckdb.DuckDBPyConnection, tables: dict[str, str], params: dict, scope: str) -> None:
    for table, where in tables.items():
        con.execute(
            f"insert into {_backup(table)} select *, $scope from {table} where {where}", {**params, "scope": scope}
        )
        con.execute(f"delete from {table} where {where}", params)


def _restore_rows(con: duckdb.DuckDBPyConnection, tables: dict[str, str], params: dict, scope: str) -> None:
    for table, where in tables.items():
        con.execute(f"delete from {table} where {where}", params)
        con.execute(
            f"insert into {table} select * exclude (_scope) from {_backup(table)} where _scope = $scope",
            {"scope": scope},
        )


def _clear(con: duckdb.DuckDBPyConnection) -> None:
    ensure_restore_point(con)  # a point opened by an older version has no replaced_lines
    for table in ("opened", "set_aside", "replaced_lines"):
        con.execute(f"delete from {SCHEMA}.{table}")
    for table in ("batch_row", *{_backup(t).split(".", 1)[1] for t in {*_RAW_ROWS, *_STAGING_ROWS}}):
        con.execute(f"drop table if exists {SCHEMA}.{table}")
