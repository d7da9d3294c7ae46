"""The staging build on Spark gives the DuckDB build's tables, with a data-quality rule in play.

Two copies of the sample's warehouse rebuild patients, encounters and observations, one on each engine, with a
rule of the kind a site adds to its suite: an observation's value above 100 is quarantined. Sample values above
100 fail it; values that are text (`value_numeric` NULL) make the rule NULL, which does not fail a row on DuckDB
and must not on Spark either. Every staging, quarantine and dq table must be equal (tests/equivalence/outputs.py).
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb

from pipelines.ingest.staging_build import build_staging_table, prepare_staging
from pipelines.ingest.staging_rules import RowRule
from pipelines.warehouse.spark_tables import SparkTables
from tests.equivalence.outputs import differences, fingerprint
from tests.warehouse.spark_names import drop_spark_name

FILES = ("patients", "encounters", "observations")
RULE = RowRule("observations_value_at_most_100", 't."value_numeric" > 100', "value_numeric is at most 100")
TODAY = date(2026, 11, 29)


def test_the_staging_build_on_spark_equals_the_duckdb_build(sample_warehouse: Path, spark, tmp_path: Path) -> None:
    on_duckdb, on_spark = tmp_path / "duckdb.duckdb", tmp_path / "spark.duckdb"
    tables = SparkTables(spark, (tmp_path / "lake").as_uri())
    for name in FILES:
        drop_spark_name(spark, f"raw.{name}")  # the session is shared (tests/warehouse/spark_names.py)
    try:
        for db, engine_tables in ((on_duckdb, None), (on_spark, tables)):
            shutil.copy(sample_warehouse, db)
            with duckdb.connect(str(db)) as con:
                prepare_staging(con)
                for name in FILES:
                    rules = (RULE,) if name == "observations" else ()
                    build_staging_table(con, name, rules, today=TODAY, spark_tables=engine_tables)
    finally:
        for name in FILES:
            drop_spark_name(spark, f"raw.{name}")

    with duckdb.connect(str(on_spark), read_only=True) as con:
        failed = con.execute(
            "select count(*) from quarantine.rows where reason_code = ? and stage = 'validation'", [RULE.check_name]
        ).fetchone()[0]
        text_values = con.execute("select count(*) from staging.observations where value_numeric is null").fetchone()[0]
    assert failed > 0 and text_values > 0  # the rule failed rows, and rows it judged NULL stayed
    assert differences(fingerprint(on_duckdb), fingerprint(on_spark)) == []
