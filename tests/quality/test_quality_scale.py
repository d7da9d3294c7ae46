"""Validation on ~1M staging rows: exact counts at scale (the time is printed; `make bench` measures it)."""

import time

import duckdb
import pytest
from quality_fixtures.scale import build_scaled_staging
from quality_fixtures.staging import validate_table

from pipelines import EXPECTATIONS_DIR
from pipelines.contract.suites import load_suites


@pytest.mark.slow
def test_observations_suite_on_a_million_rows(tmp_path):
    con = duckdb.connect(str(tmp_path / "scale.duckdb"))
    build_scaled_staging(con, 1_000_000)
    suite = load_suites(EXPECTATIONS_DIR)["observations"]
    validate_table(con, load_suites(EXPECTATIONS_DIR)["patients"], "warm-up", "b1")  # GX import, first context
    started = time.perf_counter()
    outcome = validate_table(con, suite, "scale", "b1")
    seconds = time.perf_counter() - started
    print(f"\nobservations suite ({len(suite.expectations)} expectations) on 1,000,000 rows: {seconds:.2f} s")
    results = {r.check_name: r for r in outcome.results}
    assert results["observations_lab_unit_known"].failing_rows == 1000
    assert results["observations_lab_unit_known"].total_rows == 1_000_000
    assert all(r.failing_rows is not None for r in outcome.results), [r.detail for r in outcome.results if r.detail]
