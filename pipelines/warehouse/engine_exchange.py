"""Tables crossing between the DuckDB file and the Spark engine's tables (`engine = "spark"`, docs/scale-out.md).

With the Spark engine the DuckDB file stays the run's control and serving warehouse (batch bookkeeping, raw and
staging with their quarantine, `dq.*`, the marts and what readers open), while the Spark session builds the
reference layer, validates staging and builds the phenotype. Two crossings join them:

- `duckdb_to_spark`: a DuckDB table written as a new version of the Spark table of the same name (Parquet written
  by DuckDB itself into the version folder when the warehouse path is local, else through Arrow);
- `spark_to_duckdb`: the current version of a Spark table read into the DuckDB file, cast to the table's contract
  types when given (so a table has the same columns and types whichever engine built it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.warehouse.sql import quote_ident, quote_literal, row_count

if TYPE_CHECKING:
    from pipelines.warehouse.spark_tables import SparkTables


def duckdb_to_spark(con: duckdb.DuckDBPyConnection, tables: SparkTables, name: str, run_id: str = "") -> int:
    """`name` of the DuckDB file as the current version of Spark's `name`; returns its rows. A failed write leaves
    Spark's current version as it was (the folder never gets `_SUCCESS`)."""
    path = tables.new_version(name, run_id)
    local = tables.local_path(path)
    if local is not None:
        Path(local).mkdir(parents=True)
        target = quote_literal(f"{local}/part-00000.parquet")
        con.execute(f"copy (select * from {name}) to {target} (format parquet)")
        tables.adopt(name, path)
    else:  # an object store or HDFS: DuckDB hands the rows to Spark, which writes them
        frame = tables.spark.createDataFrame(con.sql(f"select * from {name}").to_arrow_table())
        tables.publish(name, frame, run_id)
    return row_count(con, name)


def spark_to_duckdb(
    con: duckdb.DuckDBPyConnection, tables: SparkTables, name: str, columns: dict[str, str] | None = None
) -> int:
    """Spark's current `name` as the DuckDB table `name` (replaced in one statement); `columns` (name -> DuckDB
    type, in order) casts to the contract. Returns its rows."""
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
        con.execute(f"create schema if not exists {name.split('.')[0]}")
        con.execute(f"create or replace table {name} as select {select} from {source}")
    finally:
        if registered:
            con.unregister(registered)
    return row_count(con, name)
