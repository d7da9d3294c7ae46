"""The Spark engine resource in a real Dagster materialization: an asset runs DuckDB SQL rendered for Spark and
writes it as a Parquet table under the settings' warehouse_dir; an asset check reads it back."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.orchestration.spark_resource import SparkEngine
from pipelines.settings import Settings
from pipelines.warehouse.spark_sql import to_spark

# DuckDB SQL with functions Spark lacks (try_strptime, a list of formats, date_diff): rendered, not rewritten here
DUCKDB_SELECT = """
select
    raw_date,
    try_strptime(raw_date, ['%Y-%m-%dT%H:%M:%SZ', '%Y-%m-%d'])::date as parsed,
    date_diff('day', date '2024-01-01', try_strptime(raw_date, ['%Y-%m-%dT%H:%M:%SZ', '%Y-%m-%d'])::date) as days,
from (values ('2024-06-01'), ('2024-06-01T10:00:00Z'), ('June 1st')) as dates(raw_date)
"""


@dg.asset
def parsed_dates(spark: SparkEngine) -> dg.MaterializeResult:
    spark.tables.build("demo.parsed_dates", to_spark(DUCKDB_SELECT), run_id="run-1")
    return dg.MaterializeResult(metadata={"rows": spark.spark_session.table("demo.parsed_dates").count()})


@dg.asset_check(asset=parsed_dates)
def dates_parse_as_on_duckdb(spark: SparkEngine) -> dg.AssetCheckResult:
    rows = spark.spark_session.sql("select raw_date, days from demo.parsed_dates order by raw_date").collect()
    found = [tuple(r) for r in rows]
    return dg.AssetCheckResult(
        passed=found == [("2024-06-01", 152), ("2024-06-01T10:00:00Z", 152), ("June 1st", None)],
        metadata={"rows": str(found)},
    )


def test_assets_run_on_spark_through_the_resource(spark, tmp_path: Path) -> None:
    settings = Settings.load(db_path=tmp_path / "w.duckdb", engine="spark", spark_master="local[1]")
    resource = SparkEngine.from_settings(settings)
    assert resource.warehouse_dir == str(tmp_path / "w.duckdb.spark")
    result = dg.materialize([parsed_dates, dates_parse_as_on_duckdb], resources={"spark": resource})
    assert result.success
    assert [e.passed for e in result.get_asset_check_evaluations()] == [True]
    assert (tmp_path / "w.duckdb.spark" / "demo" / "parsed_dates").is_dir()


def test_the_definitions_bind_spark_only_for_the_spark_engine(tmp_path: Path) -> None:
    from pipelines.orchestration.definitions import build_definitions

    def spark_resource(engine: str) -> object:
        settings = Settings.load(db_path=tmp_path / "w.duckdb", engine=engine, spark_master="local[1]")
        return build_definitions(settings).resources["spark"]

    assert spark_resource("duckdb") is None  # the assets run on DuckDB, no JVM, no spark extra needed
    on_spark = spark_resource("spark")
    assert isinstance(on_spark, SparkEngine)
    assert on_spark.warehouse_dir == str(tmp_path / "w.duckdb.spark")
    assert on_spark.spark_config["spark.master"] == "local[1]"
