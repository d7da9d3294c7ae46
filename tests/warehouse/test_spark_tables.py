"""The Spark engine's Parquet tables: a failed build leaves the last good version current; a re-delivered batch
replaces its own raw folder and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.warehouse.spark_tables import SparkTables


@pytest.fixture
def tables(spark, tmp_path: Path) -> SparkTables:
    return SparkTables(spark, (tmp_path / "lake").as_uri())


def test_a_failed_build_leaves_the_last_good_version(spark, tables: SparkTables) -> None:
    first = tables.build("cohort.demo", "select id, id * 2 as doubled from range(3)", run_id="run-1")
    assert tables.current("cohort.demo") == first
    assert spark.sql("select sum(doubled) from cohort.demo").first()[0] == 6

    with pytest.raises(Exception, match="CAST_INVALID_INPUT"):
        # fails while writing (ANSI cast of a value that is not a number), after the version folder was opened
        tables.build(
            "cohort.demo",
            "select id, cast(case when id = 2 then 'x' else '1' end as int) as doubled from range(3)",
            run_id="run-2",
        )
    assert tables.current("cohort.demo") == first
    assert spark.sql("select sum(doubled) from cohort.demo").first()[0] == 6

    second = tables.build("cohort.demo", "select id, id * 3 as doubled from range(4)", run_id="run-3")
    third = tables.build("cohort.demo", "select id, id * 4 as doubled from range(4)", run_id="run-4")
    assert spark.sql("select sum(doubled) from cohort.demo").first()[0] == 24
    # two complete versions kept (the current one and the one before); failed and older folders pruned
    assert [(path, ok) for _, path, ok in tables.versions("cohort.demo")] == [(second, True), (third, True)]


def test_a_new_session_finds_the_current_versions(spark, tables: SparkTables) -> None:
    tables.build("marts.demo_counts", "select 'a' as flag, 7 as patients", run_id="run-1")
    spark.sql("drop table marts.demo_counts")
    assert tables.open_all() == 1
    assert spark.sql("select patients from marts.demo_counts").first()[0] == 7


def test_a_redelivered_batch_replaces_only_its_own_folder(spark, tables: SparkTables) -> None:
    # a file name of its own: the session is shared, and the engine comparison registers raw.patients as a table
    def batch(*ids: str):
        return spark.createDataFrame([(i,) for i in ids], "Id string")

    tables.add_batch("demo_patients", "2026-01-01", batch("p1", "p2"))
    tables.add_batch("demo_patients", "2026-02-01", batch("p3"))
    tables.add_batch("demo_patients", "2026-01-01", batch("p1", "p2b"))  # re-delivery of the first batch
    tables.register_raw("demo_patients")
    rows = sorted(tuple(r) for r in spark.sql("select _batch_id, Id from raw.demo_patients").collect())
    assert rows == [("2026-01-01", "p1"), ("2026-01-01", "p2b"), ("2026-02-01", "p3")]
    assert dict(spark.table("raw.demo_patients").dtypes)["_batch_id"] == "string"


def test_names_are_checked(tables: SparkTables) -> None:
    with pytest.raises(ValueError, match="schema.table"):
        tables.table_dir("cohort.demo; drop table x")
