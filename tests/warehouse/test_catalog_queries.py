"""The warehouse door's catalog questions, asked the fast way (duckdb_tables() and friends instead of
information_schema, one catalog query instead of ~10 DDL statements per ensure_bookkeeping call), with the same
answers."""

from __future__ import annotations

import duckdb

from pipelines.warehouse import ensure_bookkeeping, table_columns, table_exists
from pipelines.warehouse.bookkeeping import ADDED_COLUMNS, ON_REQUEST, TABLES


def test_table_exists_sees_tables_and_views_of_this_database_only() -> None:
    con = duckdb.connect()
    con.execute("create schema s")
    con.execute("create table s.t (a int, b int)")
    con.execute("create view s.v as select b, a from s.t")
    con.execute("create temp table tmp_only (a int)")
    con.execute("attach ':memory:' as other")
    con.execute("create schema other.s")
    con.execute("create table other.s.elsewhere (a int)")
    assert table_exists(con, "s.t") and table_exists(con, "s.v")
    assert not table_exists(con, "s.missing")
    assert not table_exists(con, "s.elsewhere")  # another attached database
    assert not table_exists(con, "main.tmp_only") and not table_exists(con, "temp.tmp_only")
    assert table_columns(con, "s.v") == ["b", "a"]
    assert table_columns(con, "s.t") == ["a", "b"]


def test_ensure_bookkeeping_creates_everything_then_repairs_a_missing_column() -> None:
    con = duckdb.connect()
    ensure_bookkeeping(con)
    for table in TABLES:
        # tables made on request (the Spark engine's) only when asked for
        assert table_exists(con, table) == (table not in ON_REQUEST)
    before = table_columns(con, "raw._batches")
    (column, _kind), *_ = ADDED_COLUMNS["raw._batches"]
    con.execute(f"alter table raw._batches drop column {column}")
    ensure_bookkeeping(con, ("raw._batches",))  # the fast path must not skip a table that lacks a column
    assert table_columns(con, "raw._batches") == [c for c in before if c != column] + [column]
    con.execute("drop table dq.check_results")
    ensure_bookkeeping(con, ("dq.check_results",))
    assert table_exists(con, "dq.check_results")
