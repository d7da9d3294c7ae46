"""Validation over a hand-made staging database with known defects: counts, categories, quarantine, history."""

import json
import shutil

import duckdb
import pytest
from quality_fixtures.staging import EXPECTED_FAILURES, TABLE_ORDER, build_staging, seed_reconciliation

from pipelines import EXPECTATIONS_DIR
from pipelines.quality.quarantine import quarantine_failing_rows
from pipelines.quality.run import run_table_validation
from pipelines.quality.suites import load_suites


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    build_staging(con)
    seed_reconciliation(con)
    yield con
    con.close()


def _validate_all(con, run_id, suites_dir=EXPECTATIONS_DIR, docs_dir=None):
    suites = load_suites(suites_dir)
    return {t: run_table_validation(con, suites[t], run_id, "b1", docs_dir) for t in TABLE_ORDER}


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


def test_error_row_checks_move_rows_to_quarantine_and_warn_checks_do_not(con):
    outcomes = _validate_all(con, "run-1")
    assert outcomes["encounters"].quarantined == {
        "encounters_stop_not_before_start": 1,
        "encounters_patient_resolves": 1,
    }
    assert outcomes["observations"].quarantined == {"observations_encounter_resolves": 1}
    rows = con.execute(
        "select source_file, source_line, reason_code, stage from quarantine.rows order by 1, 2"
    ).fetchall()
    assert rows == [
        ("encounters.csv", 4, "encounters_stop_not_before_start", "validation"),
        ("encounters.csv", 5, "encounters_patient_resolves", "validation"),
        ("observations.csv", 6, "observations_encounter_resolves", "validation"),
    ]
    assert con.execute("select list(encounter_id order by 1) from staging.encounters").fetchone()[0] == ["e1", "e2"]
    # warn-level rows stay in staging: the phenotype excludes them itself
    assert con.execute("select count(*) from staging.observations").fetchone()[0] == 4
    assert con.execute("select count(*) from staging.patients").fetchone()[0] == 5
    recon = con.execute(
        "select source_file, rows_read, rows_loaded, rows_quarantined, rows_superseded "
        "from dq.batch_reconciliation where source_file in ('encounters.csv', 'observations.csv') order by 1"
    ).fetchall()
    assert recon == [("encounters.csv", 4, 2, 2, 0), ("observations.csv", 5, 4, 1, 0)]


def test_history_appends_per_run_and_a_rerun_does_not_duplicate_quarantine(con):
    _validate_all(con, "run-1")
    _validate_all(con, "run-2")
    per_run = dict(con.execute("select run_id, count(*) from dq.check_results group by 1").fetchall())
    total_checks = sum(len(s.expectations) for s in load_suites(EXPECTATIONS_DIR).values())
    assert per_run == {"run-1": total_checks, "run-2": total_checks}
    assert con.execute("select count(*) from quarantine.rows").fetchone()[0] == 3
    # run-2 validated what was left after run-1's quarantine
    second = con.execute(
        "select failing_rows from dq.check_results "
        "where run_id = 'run-2' and check_name = 'encounters_patient_resolves'"
    ).fetchone()[0]
    assert second == 0
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


def test_quarantine_failing_rows_moves_matching_rows_in_one_go(con):
    moved = quarantine_failing_rows(
        con, "patients", {"site_no_x_sex": "t.sex = 'X'", "site_old": "t.birth_date < date '1900-01-01'"}
    )
    assert moved == {"site_no_x_sex": 1, "site_old": 1}
    assert con.execute("select count(*) from staging.patients").fetchone()[0] == 3
    detail = con.execute(
        "select reason_code, reason_detail, raw_record like '%\"patient_id\"%' from quarantine.rows order by 1"
    ).fetchall()
    assert detail == [
        ("site_no_x_sex", "failed validation check site_no_x_sex", True),
        ("site_old", "failed validation check site_old", True),
    ]
    recon = con.execute(
        "select rows_read, rows_loaded, rows_quarantined from dq.batch_reconciliation "
        "where source_file = 'patients.csv'"
    ).fetchone()
    assert recon == (5, 3, 2)


def test_quarantine_rolls_back_on_a_bad_predicate(con):
    with pytest.raises(duckdb.Error):
        quarantine_failing_rows(con, "patients", {"ok": "t.sex = 'X'", "bad": "t.no_such_column = 1"})
    assert con.execute("select count(*) from staging.patients").fetchone()[0] == 5
    assert con.execute("select count(*) from quarantine.rows").fetchone()[0] == 0
