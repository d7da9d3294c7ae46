"""The staging build's row work on the Spark engine (`engine = "spark"`): typing, the newest row per natural key
and the data-quality rules run on Spark; the DuckDB file keeps the batch states, the quarantine and the ledgers.

Spark reads raw from `<warehouse_dir>/raw/<file>/_batch_id=<id>/`: each admitted batch the DuckDB file landed is
written there once (DuckDB writes the Parquet, with its lineage; a marker names the landing, so a re-delivered or
restored batch is written again). The rows are typed by the same SQL as on DuckDB (`sql/staging/`, rendered for
Spark), then split as `staging_build.py` does:

1. rows that cannot be staged -> temp `_rejected` of the DuckDB file;
2. of the rest, the newest row per natural key stays; older copies -> temp `_superseded`;
3. rows failing a rule of the suite -> temp `_rule_failures` (with the flag of each rule; DuckDB writes their
   staged record, so a record reads the same on both engines);

the staged rows become a new version of Spark's `staging.<file>` (what validation and the phenotype read there)
and are copied into the DuckDB file as `staging.<file>__next`, which the DuckDB build swaps in, with the
quarantine, in one transaction. Only full builds run here: the Spark engine takes the full path every run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from pipelines.contract.synthea import LAYOUTS, FileLayout
from pipelines.contract.tables import natural_key, spark_casts, table_contract
from pipelines.ingest.batch_state import admitted_batches
from pipelines.ingest.raw_views import LINEAGE
from pipelines.ingest.staging_rules import RowRule, collect_rule_failures, rule_flags
from pipelines.warehouse.engine_exchange import duckdb_to_spark_raw, spark_frame_to_duckdb, spark_to_duckdb
from pipelines.warehouse.sql import quote_ident, quote_literal

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from pipelines.warehouse.spark_tables import SparkTables

REJECT_COLUMNS = ("_reject_reason", "_reject_detail")
# Spark's view of a raw file before any batch of it landed: the columns DuckDB's raw view has, no rows.
_RAW_TYPES = {"_source_line": "bigint", "_loaded_at": "timestamp_ntz"}


def mirror_raw_batches(
    con: duckdb.DuckDBPyConnection, tables: SparkTables, layout: FileLayout, admitted: list[str]
) -> int:
    """Writes each admitted landed batch of the file that Spark does not hold as landed now; registers Spark's
    `raw.<file>`. Returns the batches written."""
    landed = con.execute(
        "select batch_id, loaded_at from raw._landed_files where source_file = ? order by batch_id",
        [layout.file_name],
    ).fetchall()
    written = 0
    for batch_id, loaded_at in landed:
        landing = loaded_at.strftime("%Y%m%dT%H%M%S%f")
        if batch_id not in admitted or tables.has_raw_batch(layout.name, batch_id, landing):
            continue
        rows = (
            f"select * exclude (_batch_id) from raw.{layout.name} "
            f"where _batch_id = {quote_literal(batch_id)} order by _source_line"
        )
        duckdb_to_spark_raw(con, tables, layout.name, batch_id, landing, rows)
        written += 1
    columns = [*layout.columns, *LINEAGE]
    empty = (
        "select " + ", ".join(f"cast(null as {_RAW_TYPES.get(c, 'string')}) as `{c}`" for c in columns) + " where false"
    )
    tables.register_raw(layout.name, empty_select=empty)
    return written


def build_candidates_on_spark(
    con: duckdb.DuckDBPyConnection,
    tables: SparkTables,
    name: str,
    typed_sql: str,
    rules: tuple[RowRule, ...],
    candidates: str,
    run_id: str = "",
) -> None:
    """Fills the DuckDB file's `candidates` (the rows to stage) and temp `_rejected`, `_superseded` and
    `_rule_failures` (see the module docstring); Spark's `staging.<name>` gets the staged rows as a new version."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    from pipelines.warehouse.spark_sql import to_spark

    spark = tables.spark
    admitted = admitted_batches(con)
    # each model reads raw of its own file only (patients and encounters as the staged tables, already on Spark)
    mirror_raw_batches(con, tables, LAYOUTS[name], admitted)

    typed = spark.sql(to_spark(typed_sql)).where(F.col("_batch_id").isin(admitted))
    typed = typed.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        spark_frame_to_duckdb(
            con,
            typed.where(F.col("_reject_reason").isNotNull()).select("_batch_id", "_source_line", *REJECT_COLUMNS),
            "_rejected",
        )
        latest = Window.partitionBy(*natural_key(name)).orderBy(F.desc("_batch_id"), F.desc("_source_line"))
        ranked = (
            typed.where(F.col("_reject_reason").isNull())
            .drop(*REJECT_COLUMNS)
            .withColumn("_rank", F.row_number().over(latest))
            .withColumn("_winner_batch_id", F.first("_batch_id").over(latest))
            .withColumn("_winner_line", F.first("_source_line").over(latest))
        )
        spark_frame_to_duckdb(
            con,
            ranked.where(F.col("_rank") > 1).select("_batch_id", "_source_line", "_winner_batch_id", "_winner_line"),
            "_superseded",
        )
        winners = ranked.where(F.col("_rank") == 1).drop("_rank", "_winner_batch_id", "_winner_line")
        judged = _judge(spark, winners, rules).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            flags = rule_flags(rules)
            failing = F.lit(False)
            for flag in flags:
                failing = failing | F.col(flag)
            staged = judged.where(~failing).drop(*flags).selectExpr(*spark_casts(f"staging.{name}"))
            tables.publish(f"staging.{name}", staged, run_id)
            contract = table_contract(f"staging.{name}").columns
            spark_to_duckdb(con, tables, f"staging.{name}", contract, target=candidates)
            if rules:
                _rule_failures_to_duckdb(con, judged.where(failing), rules, contract)
        finally:
            judged.unpersist()
    finally:
        typed.unpersist()


def _judge(spark, winners: DataFrame, rules: tuple[RowRule, ...]) -> DataFrame:
    """The staged candidates with one boolean `_rule_<i>` per rule (the rules' SQL rendered for Spark). A rule
    that comes out NULL (a range rule on a NULL value) does not fail the row, as on DuckDB: the flags are never NULL,
    so `not failing` keeps such a row instead of dropping it."""
    if not rules:
        return winners
    from pipelines.warehouse.spark_sql import to_spark

    view = "_staging_winners"
    winners.createOrReplaceTempView(view)
    judged = ", ".join(
        f"coalesce(({rule.over(view)}), false) as {flag}" for rule, flag in zip(rules, rule_flags(rules), strict=True)
    )
    return spark.sql(to_spark(f"select t.*, {judged} from {view} as t"))


def _rule_failures_to_duckdb(
    con: duckdb.DuckDBPyConnection, failing: DataFrame, rules: tuple[RowRule, ...], contract: dict[str, str]
) -> None:
    """Temp `_rule_failures` as the DuckDB build makes it (`collect_rule_failures`), from the failing rows brought
    over and cast to the contract."""
    flags = ", ".join(rule_flags(rules))
    typed = ", ".join(f"cast({quote_ident(c)} as {kind}) as {quote_ident(c)}" for c, kind in contract.items())
    spark_frame_to_duckdb(con, failing, "_failing_rows", f"{typed}, {flags}")
    collect_rule_failures(con, "temp._failing_rows", f"(select * exclude ({flags}) from temp._failing_rows)", rules)
    con.execute("drop table temp._failing_rows")
