"""Validation over a hand-made staging database with known defects: counts, categories, quarantine, history."""

import json
import shutil

import duckdb
import pytest
from quality_fixtures.staging import EXPECTED_FAILURES, TABLE_ORDER, build_staging, seed_reconciliation, validate_table

from pipelines import EXPECTATIONS_DIR
from pipelines.contract.suites import load_suites


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    build_staging(con)
    seed_reconciliation(con)
    yield con
    con.close()


def _validate_all(con, run_id, suites_dir=EXPECTATIONS_DIR, docs_dir=None):
    suites = load_suites(suites_dir)
    return {t: validate_table(con, suites[t], run_id, "b1", docs_dir) for t in TABLE_ORDER}


def test_defects_give_the_expected_failing_checks_counts_and_categories(con, tmp_path):
    outcomes = _validate_all(con, "run-1", docs_dir=tmp_path / "gx")
    results = [r for o in outcomes.values() for r in o.results]
    failing = {r.check_name: r.failing_rows for r in results if r.failing_rows}
    assert failing == EXPECTED_FAILURES
    failed = {r.check_name for r in results if r.status == "fail"}
    # 1 of 4 encounters and 1 of 5 observations is over the 5 % error threshold; warn thresholds are 0 %.
    assert failed == set(EXPECTED_FAILURES)
    by_name = {r.check_name: r for r in results}
    assert by_name["encounters_patient_resolves"].kahn_category == "referential"
    assert by_name["conditions_pregnancy_on_male"].kahn_category == "plausibility"
    assert by_name["observations_lab_unit_known"].kahn_category == "conformance"
    assert by_name["observations_lab_value_plausible"].severity == "warn"
    assert by_name["encounters_stop_not_before_start"].total_rows == 4
    assert not any(r.detail for r in results if r.status == "pass"), "a check raised inside GX"
    assert (tmp_path / "gx" / "patients.html").exists() and (tmp_path / "gx" / "index.html").exists()


def test_checks_only_measure_they_never_change_staging_or_quarantine(con):
    # Rows failing an error-level rule are moved by the staging build (tests/test_quality_e2e.py), never by a
    # check: over hand-built staging the failures are counted and every row stays where it was.
    before = {t: con.execute(f"select count(*) from staging.{t}").fetchone()[0] for t in TABLE_ORDER}
    outcomes = _validate_all(con, "run-1")
    assert {t: con.execute(f"select count(*) from staging.{t}").fetchone()[0] for t in TABLE_ORDER} == before
    assert con.execute("select count(*) from quarantine.rows").fetchone()[0] == 0
    assert all(not o.quarantined for o in outcomes.values())
    failing = {r.check_name: r.failing_rows for r in outcomes["encounters"].results if r.failing_rows}
    assert failing == {"encounters_stop_not_before_start": 1, "encounters_patient_resolves": 1}
    recon = con.execute(
        "select source_file, rows_read, rows_loaded, rows_quarantined, rows_superseded "
        "from dq.batch_reconciliation where source_file in ('encounters.csv', 'observations.csv') order by 1"
    ).fetchall()
    assert recon == [("encounters.csv", 4, 4, 0, 0), ("observations.csv", 5, 5, 0, 0)]


def test_history_appends_per_run_and_a_rerun_measures_the_same_rows(con):
    _validate_all(con, "run-1")
    _validate_all(con, "run-2")
    per_run = dict(con.execute("select run_id, count(*) from dq.check_results group by 1").fetchall())
    total_checks = sum(len(s.expectations) for s in load_suites(EXPECTATIONS_DIR).values())
    assert per_run == {"run-1": total_checks, "run-2": total_checks}
    assert con.execute("select count(*) from quarantine.rows").fetchone()[0] == 0
    # the checks changed nothing: run-2 measures what run-1 measured
    second = con.execute(
        "select list(failing_rows order by run_id) from dq.check_results "
        "where check_name = 'encounters_patient_resolves'"
    ).fetchone()[0]
    assert second == [1, 1]
    columns = [r[0] for r in con.execute("describe dq.check_results").fetchall()]
    assert columns[:10] == [
        "run_id", "batch_id", "table_name", "check_name", "kahn_category",
        "severity", "status", "failing_rows", "total_rows", "threshold",
    ]  # fmt: skip


def test_custom_expectation_added_to_the_json_runs_with_no_code_change(con, tmp_path):
    suites_dir = tmp_path / "site_expectations"
    shutil.copytree(EXPECTATIONS_DIR, suites_dir)
    doc = json.loads((suites_dir / "encounters.json").read_text())
    doc["expectations"].append(
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "encounter_class", "value_set": ["wellness"]},
            "meta": {
                "check_name": "site_only_wellness_visits",
                "kahn_category": "plausibility",
                "severity": "warn",
                "threshold": 10,
                "explanation": "This site only exports wellness visits.",
            },
        }
    )
    (suites_dir / "encounters.json").write_text(json.dumps(doc))
    outcome = _validate_all(con, "run-custom", suites_dir)["encounters"]
    custom = {r.check_name: r for r in outcome.results}["site_only_wellness_visits"]
    assert (custom.status, custom.failing_rows, custom.total_rows) == ("fail", 3, 4)
    stored = con.execute(
        "select kahn_category, severity, status, failing_rows, threshold from dq.check_results "
        "where check_name = 'site_only_wellness_visits'"
    ).fetchall()
    assert stored == [("plausibility", "warn", "fail", 3, 10.0)]


def test_a_broken_custom_query_fails_its_check_instead_of_passing(con, tmp_path):
    suites_dir = tmp_path / "site_expectations"
    shutil.copytree(EXPECTATIONS_DIR, suites_dir)
    doc = json.loads((suites_dir / "patients.json").read_text())
    doc["expectations"].append(
        {
            "type": "unexpected_rows_expectation",
            "kwargs": {"unexpected_rows_query": "select * from {batch} where no_such_column = 1"},
            "meta": {"check_name": "site_broken", "kahn_category": "conformance", "severity": "warn",
                     "threshold": 0, "explanation": "Broken on purpose."},
        }
    )  # fmt: skip
    (suites_dir / "patients.json").write_text(json.dumps(doc))
    outcome = _validate_all(con, "run-broken", suites_dir)["patients"]
    broken = {r.check_name: r for r in outcome.results}["site_broken"]
    assert broken.status == "fail" and broken.failing_rows is None
    assert "no_such_column" in broken.detail
