"""Every SQL model, rendered for DuckDB and for Spark, gives the same rows on both engines; so do the suites
(through GX's Spark datasource) and the phenotype chain built on Spark alone.

The inputs are the clinical vignettes as the real DuckDB pipeline loaded them (their white-space, date, unit and
censored-value traps are what the Spark rewrites must get right). Spark runs local[1]: the tests are about
meaning, not speed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines import EXPECTATIONS_DIR
from pipelines.cohort.models import model_reads
from pipelines.contract.suites import BATCH_VOLUME, load_suites
from pipelines.warehouse.spark_sql import SPARK_REWRITES
from pipelines.warehouse.sql import render_sql
from tests.equivalence.engine_models import (
    EngineComparison,
    all_cases,
    canonical,
    referenced_tables,
    sort_key,
)

CASES = all_cases()


@pytest.fixture(scope="module")
def comparison(spark, vignettes_warehouse: Path, tmp_path_factory: pytest.TempPathFactory):
    compared = EngineComparison(vignettes_warehouse, tmp_path_factory.mktemp("engines"), spark)
    yield compared
    compared.close()


def test_every_model_file_is_covered() -> None:
    from pipelines import SQL_DIR

    models = {p.relative_to(SQL_DIR).as_posix() for p in SQL_DIR.rglob("*.sql")} - {"staging/_macros.sql"}
    covered = {case.path for case in CASES} | {
        f"staging/{name}.sql" for name in ("conditions", "observations", "medications", "procedures")
    }
    assert models - covered == set()


def test_every_model_renders_for_both_engines() -> None:
    for case in CASES:
        params = _stand_in_params(case.path)
        assert render_sql(case.path, "duckdb", **params).lstrip().lower().startswith(("--", "with", "select"))
        spark_sql = render_sql(case.path, "spark", **params).lower()
        for duckdb_only in ("try_strptime", "to_days(", "isfinite(", "regexp_full_match(", "[[:space:]]"):
            assert duckdb_only not in spark_sql, f"{case.path}: {duckdb_only} left in the Spark rendering"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_model_gives_the_same_rows_on_spark(case, comparison: EngineComparison) -> None:
    result = comparison.run(case)
    assert result.problem == "", f"{case.name}: {result.problem}"


def test_a_broken_rewrite_is_caught(comparison: EngineComparison, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the rewrite of DuckDB's POSIX classes, Java reads `[[:space:]]` as letters: staging must differ."""
    from pipelines.warehouse import spark_sql

    monkeypatch.setattr(spark_sql, "SPARK_REWRITES", [r for r in SPARK_REWRITES if r.__name__ != "posix_classes"])
    case = next(c for c in CASES if c.name == "staging.patients_typed")
    assert comparison.run(case).problem != ""


def _stand_in_params(path: str) -> dict[str, str]:
    """Every placeholder of a model filled with a stand-in (rendering only; the comparison uses the real ones)."""
    from pipelines import SQL_DIR

    names = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", (SQL_DIR / path).read_text()))
    values = {
        "today": "date '2026-11-29'",
        "typed_model": "select 1 as x",
        "flag_columns": "a, b",
        "flag_list": "a, b",
        "step_order": "rowid",
        "previous_columns": "a",
        "current_columns": "a",
    }
    return {name: values.get(name, "ref.parameters") for name in names}


SUITES = sorted(load_suites(EXPECTATIONS_DIR).values(), key=lambda suite: suite.table)


@pytest.mark.parametrize("suite", SUITES, ids=[suite.table for suite in SUITES])
def test_suite_gives_the_same_check_results_on_spark(suite, comparison: EngineComparison, spark) -> None:
    """Each staging suite through GX on DuckDB and through GX's Spark datasource: same failing rows, same status."""
    from pipelines.quality.validate import validate_suite, validate_suite_spark

    for expectation in suite.expectations:
        query = expectation.kwargs.get("unexpected_rows_query")
        if query:
            qualified, _ = referenced_tables(query.replace("{batch}", "batch_table"))
            comparison.register_tables(qualified)
    comparison.register_tables({f"staging.{suite.table}"})
    on_duckdb = validate_suite(comparison.con, suite).results
    on_spark = validate_suite_spark(spark, suite).results

    def rows(results):
        return [(r.check_name, r.status, r.failing_rows, r.total_rows) for r in results]

    assert [r.check_name for r in on_spark if r.failing_rows is None] == [], [r.detail for r in on_spark]
    assert rows(on_spark) == rows(on_duckdb)


def test_the_vignettes_fail_some_checks_on_spark(comparison: EngineComparison, spark) -> None:
    """The comparison above is not between two empty answers: the vignettes' traps fail checks on Spark too."""
    from pipelines.quality.validate import validate_suite_spark

    suite = next(s for s in SUITES if s.table == "observations")
    comparison.register_tables({"staging.observations", "staging.patients", "staging.encounters", "ref.lab_rules"})
    failing = {r.check_name: r.failing_rows for r in validate_suite_spark(spark, suite).results if r.failing_rows}
    assert {"observations_numeric_value_parses", "observations_lab_unit_known"} <= set(failing)


def test_the_phenotype_chain_on_spark_equals_duckdb(comparison: EngineComparison, spark, tmp_path: Path) -> None:
    """Every phenotype model built on Spark in graph order, each reading the tables Spark built before it (not
    DuckDB's), from the vignettes' staging and reference tables: every `intermediate` and `cohort` table equals the
    one the DuckDB pipeline built. Runs last in this module: it replaces the registered model tables."""
    from pipelines.cohort.models import ASSET_MODELS, build_tables_on_spark
    from pipelines.warehouse.spark_tables import SparkTables

    built = tuple(table for tables in ASSET_MODELS.values() for table in tables)
    inputs = {read for table in built for read in model_reads(table)} - set(built)
    comparison.register_tables(inputs)
    counts = build_tables_on_spark(SparkTables(spark, str(tmp_path / "lake")), built, run_id="chain")
    comparison.registered -= set(built)
    problems = []
    for table in built:
        duck = sorted(
            (tuple(canonical(v) for v in r) for r in comparison.con.sql(f"from {table}").fetchall()), key=sort_key
        )
        on_spark = sorted((tuple(canonical(v) for v in r) for r in spark.table(table).collect()), key=sort_key)
        if duck != on_spark:
            problems.append(f"{table}: duckdb {len(duck)} rows, spark {len(on_spark)}")
    assert problems == []
    assert counts["cohort.patient_flags"] > 100  # the vignettes' patients, not an empty chain


def test_the_reference_layer_on_spark_equals_duckdb(comparison: EngineComparison, spark, tmp_path: Path) -> None:
    """Every `ref.*` table written to Spark by the reference room equals the one the DuckDB pipeline built, row
    order included where the marts depend on it (the value-set entries keep the seed file's order)."""
    from pipelines.reference.on_spark import build_reference_data_on_spark
    from pipelines.reference.seeds import seed_files
    from pipelines.warehouse.spark_tables import SparkTables

    version, counts = build_reference_data_on_spark(SparkTables(spark, str(tmp_path / "lake")), run_id="ref")
    comparison.registered -= set(counts)
    assert version == comparison.con.sql("select phenotype_version from ref.phenotype_version").fetchone()[0]
    seed_tables = {f"ref.{path.stem}" for path in seed_files()}
    for table in counts:
        duck = [tuple(canonical(v) for v in r) for r in comparison.con.sql(f"from {table}").fetchall()]
        on_spark = [tuple(canonical(v) for v in r) for r in spark.table(table).collect()]
        if table not in seed_tables:  # a derived table has no order of its own, on either engine
            duck, on_spark = sorted(duck, key=sort_key), sorted(on_spark, key=sort_key)
        assert on_spark == duck, table  # a seed table: the same rows in the file's order


def test_check_results_are_recorded_alike_on_spark(comparison: EngineComparison, spark, tmp_path: Path) -> None:
    """dq.check_results written by a Spark run holds the rows and column types a DuckDB run writes; a second run
    appends."""
    from pipelines.quality.history import CHECK_RESULTS, record_results, record_results_on_spark
    from pipelines.quality.validate import validate_suite, validate_suite_spark
    from pipelines.warehouse import connect
    from pipelines.warehouse.spark_tables import SparkTables

    suite = next(s for s in SUITES if s.table == "observations")
    comparison.register_tables({"staging.observations", "staging.patients", "staging.encounters", "ref.lab_rules"})
    tables = SparkTables(spark, str(tmp_path / "lake"))
    for run in ("run-1", "run-2"):
        record_results_on_spark(tables, validate_suite_spark(spark, suite).results, run, "2024-12-01", {"x": 1})
    with connect() as con:
        for run in ("run-1", "run-2"):
            record_results(con, validate_suite(comparison.con, suite).results, run, "2024-12-01", {"x": 1})
        columns = [c for c in con.table(CHECK_RESULTS).columns if c != "checked_at"]
        duck = sorted(con.sql(f"select {', '.join(columns)} from {CHECK_RESULTS}").fetchall(), key=sort_key)
        duck_types = [str(t).lower() for t in con.sql(f"select * from {CHECK_RESULTS}").types]
    on_spark = sorted((tuple(r) for r in spark.table(CHECK_RESULTS).select(*columns).collect()), key=sort_key)
    # the per-batch volume check is not a GX expectation (quality/run.py computes it from the reconciliation)
    assert len(on_spark) == 2 * len([e for e in suite.expectations if e.type != BATCH_VOLUME])
    assert on_spark == duck
    spark_types = [t for _, t in spark.table(CHECK_RESULTS).dtypes]
    expected = {"varchar": "string", "bigint": "bigint", "double": "double", "timestamp": "timestamp_ntz"}
    assert spark_types == [expected[t] for t in duck_types]
