"""The Spark engine resource in a real Dagster materialization: an asset builds a phenotype model on Spark from
its rendered SQL and writes it as a Parquet table; an asset check reads it back."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.orchestration.spark_resource import SparkEngine
from pipelines.settings import Settings
from pipelines.warehouse.sql import render_sql


@dg.asset
def parameters(spark: SparkEngine) -> dg.MaterializeResult:
    session = spark.spark_session
    session.createDataFrame(
        [("frequent_min_events", "3"), ("frequent_window_days", "30"), ("unused", "1")],
        "parameter string, value string",
    ).createOrReplaceTempView("phenotype_parameters")
    session.sql("create database if not exists ref")
    spark.tables.build("ref.phenotype_parameters", "select * from phenotype_parameters", run_id="run-1")
    spark.tables.build("ref.parameters", render_sql("ref/parameters.sql", "spark"), run_id="run-1")
    return dg.MaterializeResult(metadata={"rows": session.table("ref.parameters").count()})


@dg.asset_check(asset=parameters)
def window_is_read(spark: SparkEngine) -> dg.AssetCheckResult:
    row = spark.spark_session.sql("select frequent_min_events, frequent_window_days from ref.parameters").first()
    return dg.AssetCheckResult(passed=tuple(row) == (3, 30), metadata={"row": str(tuple(row))})


def test_assets_run_on_spark_through_the_resource(spark, tmp_path: Path) -> None:
    settings = Settings.load(db_path=tmp_path / "w.duckdb", engine="spark", spark_master="local[1]")
    resource = SparkEngine.from_settings(settings)
    assert resource.warehouse_dir == str(tmp_path / "w.duckdb.spark")
    result = dg.materialize([parameters, window_is_read], resources={"spark": resource})
    assert result.success
    assert [e.passed for e in result.get_asset_check_evaluations()] == [True]
    assert (tmp_path / "w.duckdb.spark" / "ref" / "parameters").is_dir()
