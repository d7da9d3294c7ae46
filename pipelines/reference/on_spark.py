"""The reference layer on the Spark engine: built by the one definition (`build_reference_data`, in a private
in-memory DuckDB on the driver) and written as Spark tables.

`ref.*` is a few hundred rows of seeds and what is derived from them, so it is computed where the seeds are
read, with the same code and SQL as on DuckDB, and shipped to Spark through Arrow (no pandas). Each table is
written as one file, so its row order is the seed file's order (`marts/value_set_matches.sql` displays value-set
entries in that order).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.reference import seeds
from pipelines.reference.build import build_reference_data
from pipelines.warehouse import connect

if TYPE_CHECKING:
    from pipelines.warehouse.spark_tables import SparkTables


def build_reference_data_on_spark(
    spark_tables: SparkTables,
    seeds_dir: Path = seeds.SEEDS_DIR,
    code_system_map_file: Path | None = None,
    run_id: str = "",
) -> tuple[str, dict[str, int]]:
    """Writes every `ref.*` table as a Spark table; returns the phenotype version and rows per table."""
    with connect() as con:
        version, counts = build_reference_data(con, seeds_dir, code_system_map_file)
        names = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = 'ref' order by table_name"
            ).fetchall()
        ]
        for name in names:
            arrow = con.sql(f"select * from ref.{name}").to_arrow_table()
            frame = spark_tables.spark.createDataFrame(arrow).coalesce(1)
            spark_tables.publish(f"ref.{name}", frame, run_id)
            counts[f"ref.{name}"] = arrow.num_rows
    return version, counts
