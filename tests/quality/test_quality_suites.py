"""The suite files: shipped coverage (issue 5's list), metadata validation, no clinical code literals."""

import json
import re
import shutil

import pytest

from pipelines import EXPECTATIONS_DIR
from pipelines.contract.suites import KAHN_CATEGORIES, SuiteError, load_suite, load_suites

STAGING_TABLES = {"patients", "encounters", "conditions", "observations", "medications", "procedures"}


def test_one_suite_per_staging_table_with_valid_metadata():
    suites = load_suites(EXPECTATIONS_DIR)
    assert set(suites) == STAGING_TABLES
    for suite in suites.values():
        categories = {e.kahn_category for e in suite.expectations}
        # every table: columns present (conformance), required fields (completeness), keys (uniqueness)
        assert {"conformance", "completeness", "uniqueness"} <= categories, suite.table
        assert {e.severity for e in suite.expectations} <= {"error", "warn"}
        assert all(e.explanation and 0 <= e.threshold <= 100 for e in suite.expectations)


def test_shipped_checks_cover_the_issue_list():
    names = {e.check_name for s in load_suites(EXPECTATIONS_DIR).values() for e in s.expectations}
    for required in [
        "patients_required_columns",
        "patients_birth_date_type",
        "patients_sex_allowed_values",
        "conditions_code_system_allowed_values",
        "observations_lab_unit_known",
        "patients_birth_date_not_null",
        "encounters_start_date_not_in_future",
        "encounters_not_before_birth",
        "encounters_not_after_death",
        "encounters_stop_not_before_start",
        "patients_age_0_120",
        "observations_lab_value_plausible",
        "conditions_pregnancy_on_male",
        "conditions_natural_key_unique",
        "conditions_patient_resolves",
        "conditions_encounter_resolves",
    ]:
        assert required in names
    categories = {e.kahn_category for s in load_suites(EXPECTATIONS_DIR).values() for e in s.expectations}
    assert categories == set(KAHN_CATEGORIES)


def test_suites_hold_no_clinical_code_literals():
    # Value sets and units live in sql/seeds; suites name them (value_set = 'pregnancy'), never their codes.
    loinc = re.compile(r"'\d{3,5}-\d'")
    icd = re.compile(r"'[A-TV-Z]\d{2}\.?\w*'")
    snomed = re.compile(r"'\d{6,18}'")
    for path in EXPECTATIONS_DIR.glob("*.json"):
        text = path.read_text()
        for pattern in (loinc, icd, snomed):
            assert not pattern.search(text), (path.name, pattern.pattern)


def _write(tmp_path, expectations):
    path = tmp_path / "patients.json"
    path.write_text(json.dumps({"name": "patients", "expectations": expectations}))
    return path


GOOD_META = {"kahn_category": "completeness", "severity": "warn", "threshold": 1, "explanation": "x"}


@pytest.mark.parametrize(
    ("meta_change", "message"),
    [
        ({"kahn_category": "timeliness"}, "kahn_category"),
        ({"severity": "fatal"}, "severity"),
        ({"threshold": 150}, "threshold"),
        ({"explanation": ""}, "explanation"),
        ({"check_name": "has space"}, "check_name"),
    ],
)
def test_bad_metadata_fails_the_load_naming_the_problem(tmp_path, meta_change, message):
    exp = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "sex"}, "meta": GOOD_META | meta_change}
    with pytest.raises(SuiteError, match=message):
        load_suite(_write(tmp_path, [exp]))


def test_default_check_name_and_duplicate_names(tmp_path):
    exp = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "sex"}, "meta": GOOD_META}
    assert load_suite(_write(tmp_path, [exp])).expectations[0].check_name == "patients_sex_not_be_null"
    with pytest.raises(SuiteError, match="duplicate"):
        load_suite(_write(tmp_path, [exp, exp]))


def test_aliased_batch_without_join_is_rejected(tmp_path):
    query = "select t.* from {batch} t where t.sex = 'Q'"
    exp = {"type": "unexpected_rows_expectation", "kwargs": {"unexpected_rows_query": query}, "meta": GOOD_META}
    with pytest.raises(SuiteError, match="JOIN"):
        load_suite(_write(tmp_path, [exp]))
    exp["kwargs"]["unexpected_rows_query"] = "select * from {batch} where sex = 'Q'"
    assert load_suite(_write(tmp_path, [exp])).expectations[0].type == "unexpected_rows_expectation"


def test_suite_name_must_match_file(tmp_path):
    shutil.copy(EXPECTATIONS_DIR / "patients.json", tmp_path / "people.json")
    with pytest.raises(SuiteError, match="table name"):
        load_suites(tmp_path)
