"""The generic checks measured by one DuckDB statement per table count exactly what Great Expectations counted
when it ran each of them, and a broken check reports its own error without hiding the others' counts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from quality_fixtures.staging import build_staging

from pipelines import EXPECTATIONS_DIR
from pipelines.contract.suites import BATCH_VOLUME, Suite, load_suites
from pipelines.quality.validate import count_generic_checks, validate_suite


def _generic(suite: Suite) -> list:
    """The generic row checks (the per-batch volume check is generic too, but measured apart: quality/run.py)."""
    return [e for e in suite.expectations if e.meta.get("generic_check") and e.type != BATCH_VOLUME]


@pytest.mark.filterwarnings("ignore:.*schema_name.*:DeprecationWarning")
def test_generic_counts_equal_great_expectations_counts(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    build_staging(con)
    nonzero = 0
    for suite in load_suites(EXPECTATIONS_DIR).values():
        generic = _generic(suite)
        by_sql = count_generic_checks(con, generic, f"staging.{suite.table}")
        # the same checks as GX ran them before: without the generic mark, validate_suite hands them to GX
        as_gx = Suite(
            suite.table,
            suite.path,
            tuple(replace(e, meta={k: v for k, v in e.meta.items() if k != "generic_check"}) for e in generic),
        )
        run = validate_suite(con, as_gx)
        assert run.gx_result is not None and len(run.gx_result.results) == len(generic)
        assert by_sql == {r.check_name: r.failing_rows for r in run.results}, suite.table
        nonzero += sum(1 for count in by_sql.values() if count)
    assert nonzero >= 2  # the fixture's orphan encounter and orphan observation: the comparison is not all zeros


def test_a_broken_generic_check_reports_its_error_alone(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    build_staging(con)
    suite = load_suites(EXPECTATIONS_DIR)["encounters"]
    generic = _generic(suite)
    broken = replace(generic[0], kwargs={"unexpected_rows_query": "select * from {batch} where no_such_column > 0"})
    counts = count_generic_checks(con, [broken, *generic[1:]], "staging.encounters")
    assert isinstance(counts[broken.check_name], str) and "no_such_column" in counts[broken.check_name]
    assert counts["encounters_patient_resolves"] == 1
    result = {r.check_name: r for r in validate_suite(con, replace(suite, expectations=(broken, *generic[1:])))
              .results}[broken.check_name]
    assert result.failing_rows is None and result.status == "fail" and "no_such_column" in result.detail
