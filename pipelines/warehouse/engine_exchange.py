"""Tables crossing between the DuckDB file and the Spark engine's tables (`engine = "spark"`, docs/scale-out.md).

With the Spark engine the DuckDB file stays the run's control and serving warehouse (batch bookkeeping, reading
the files into raw, the quarantine, `dq.*`, the marts and what readers open), while the Spark session builds the
reference layer and staging, validates staging and builds the phenotype. Two crossings join them:

- `duckdb_to_spark`: a DuckDB table written as a new version of the Spark table of the same name (Parquet written
  by DuckDB itself into the version folder when the warehouse path is local, else through Arrow);
- `spark_to_duckdb`: the current version of a Spark table read into the DuckDB file, cast to the table's contract
  types when given (so a table has the same columns and types whichever engine built it);

and raw batches cross once per landing (`duckdb_to_spark_raw`), small Spark results (rejected rows) through Arrow
(`spark_frame_to_duckdb`), and the data-quality record and marts once per run (`duckdb_schemas_to_spark`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.warehouse.bookkeeping import ensure_bookkeeping
from pipelines.warehouse.sql import quote_ident, quote_literal, row_count, table_exists

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from pipelines.warehouse.spark_tables import SparkTables


def duckdb_to_spark(con: duckdb.DuckDBPyConnection, tables: SparkTables, name: str, run_id: str = "") -> int:
    """`name` of the DuckDB file as the current version of Spark's `name`; returns its rows. A failed write leaves
    Spark's current version as it was (the folder never gets `_SUCCESS`)."""
    path = tables.new_version(name, run_id)
    _write_parquet(con, tables, f"select * from {name}", path)
    tables.adopt(name, path)
    return row_count(con, name)


def _write_parquet(con: duckdb.DuckDBPyConnection, tables: SparkTables, select_sql: str, folder: str) -> None:
    """The rows of `select_sql` as Parquet in the new folder `folder`: written by DuckDB itself when the folder is
    local, else handed to Spark through Arrow (an object store or HDFS)."""
    local = tables.local_path(folder)
    if local is None:
        tables.spark.createDataFrame(con.sql(select_sql).to_arrow_table()).write.parquet(folder)
        return
    Path(local).mkdir(parents=True)
    con.execute(f"copy ({select_sql}) to {quote_literal(local + '/part-00000.parquet')} (format parquet)")


def refresh_stale_spark_tables(con: duckdb.DuckDBPyConnection, tables: SparkTables, run_id: str = "") -> list[str]:
    """Writes the DuckDB file's rows of every table marked stale for Spark (`raw._spark_stale_tables`: staging put
    back by a rollback after Spark's build) as a new Spark version, and clears the marks; the tables written."""
    if not table_exists(con, "raw._spark_stale_tables"):
        return []
    stale = [name for (name,) in con.execute("select table_name from raw._spark_stale_tables order by 1").fetchall()]
    for name in stale:
        if table_exists(con, name):
            duckdb_to_spark(con, tables, name, run_id)
        con.execute("delete from raw._spark_stale_tables where table_name = ?", [name])
    return stale


def mark_spark_stale(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Spark's version of `name` may not hold what the DuckDB file holds (a build of it is starting, or a rollback
    put the DuckDB rows back): the next Spark reader writes the DuckDB rows there first."""
    ensure_bookkeeping(con, ("raw._spark_stale_tables",))
    con.execute("insert or replace into raw._spark_stale_tables values (?, now()::timestamp)", [name])


def mark_spark_current(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Spark's version of `name` holds what the DuckDB file holds (just built from the same rows); from now on a
    rollback marks it stale."""
    ensure_bookkeeping(con, ("raw._spark_stale_tables",))
    con.execute("delete from raw._spark_stale_tables where table_name = ?", [name])


def duckdb_schemas_to_spark(
    con: duckdb.DuckDBPyConnection,
    tables: SparkTables,
    schemas: tuple[str, ...],
    run_id: str = "",
    leave_out: tuple[str, ...] = (),
) -> dict[str, int]:
    """Every table of `schemas` in the DuckDB file but those in `leave_out` as a new version of Spark's table of
    the same name; rows per table."""
    names = con.execute(
        "select schema_name || '.' || table_name as name from duckdb_tables() "
        "where database_name = current_database() and not temporary and list_contains(?, schema_name) "
        "and not list_contains(?, name) order by 1",
        [list(schemas), list(leave_out)],
    ).fetchall()
    return {name: duckdb_to_spark(con, tables, name, run_id) for (name,) in names}


def duckdb_to_spark_raw(
    con: duckdb.DuckDBPyConnection, tables: SparkTables, file: str, batch_id: str, landing: str, select_sql: str
) -> str:
    """The rows of `select_sql` (one landed batch of a raw file, without `_batch_id`, which the folder names) as
    Spark's raw batch folder of `file`; `landing` marks which landing of the batch it holds. Returns the folder."""
    return tables.add_batch(
        file, batch_id, landing=landing, write=lambda folder: _write_parquet(con, tables, select_sql, folder)
    )


def spark_frame_to_duckdb(
    con: duckdb.DuckDBPyConnection, frame: DataFrame, temp_table: str, select: str = "*"
) -> int:
    """A small Spark result (rejects, a ledger's rows) as the DuckDB temp table `temp_table`, through Arrow on the
    driver; `select` over the frame's columns (casts to the contract). Returns its rows."""
    registered = "_spark_frame"
    con.register(registered, frame.toArrow())
    try:
        con.execute(f"create or replace temp table {temp_table} as select {select} from {registered}")
    finally:
        con.unregister(registered)
    return row_count(con, temp_table)


def spark_to_duckdb(
    con: duckdb.DuckDBPyConnection,
    tables: SparkTables,
    name: str,
    columns: dict[str, str] | None = None,
    target: str | None = None,
) -> int:
    """Spark's current `name` as the DuckDB table `target` (default: the same name; replaced in one statement);
    `columns` (name -> DuckDB type, in order) casts to the contract. Returns its rows."""
    target = target or name
    path = tables.current(name)
    if path is None:
        raise LookupError(f"{name}: the Spark engine has no complete version of this table")
    local = tables.local_path(path)
    registered = None
    if local is not None:
        source = f"read_parquet({quote_literal(local + '/*.parquet')})"
    else:
        registered = "_spark_" + name.replace(".", "_")
        con.register(registered, tables.spark.read.parquet(path).toArrow())
        source = registered
    select = (
        ", ".join(f"cast({quote_ident(c)} as {kind}) as {quote_ident(c)}" for c, kind in columns.items())
        if columns
        else "*"
    )
    try:
        if "." in target:
            con.execute(f"create schema if not exists {target.split('.')[0]}")
        con.execute(f"create or replace table {target} as select {select} from {source}")
    finally:
        if registered:
            con.unregister(registered)
    return row_count(con, target)
