"""Clinical vignettes: the real ingest + cohort assets over a hand-written extract, compared to hand-written
expectations (tests/vignettes/expected_*.csv)."""

from __future__ import annotations

import csv
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from vignettes.runner import VIGNETTES, materialize_extract

from pipelines.cohort.checks import FLAG_COLUMNS
from pipelines.reference.seeds import phenotype_version


def _read(name: str) -> list[dict[str, str]]:
    with (VIGNETTES / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dg.ExecuteInProcessResult, Path]:
    db_path = tmp_path_factory.mktemp("vignettes") / "warehouse.duckdb"
    return materialize_extract(db_path, VIGNETTES / "extract"), db_path


@pytest.fixture(scope="module")
def con(run: tuple[dg.ExecuteInProcessResult, Path]) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(run[1]), read_only=True)
    yield connection
    connection.close()


def test_run_succeeds_and_checks_pass(run: tuple[dg.ExecuteInProcessResult, Path]) -> None:
    result = run[0]
    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations["flags_match_evidence"].passed
    assert evaluations["one_row_per_patient"].passed
    # the male patients' pregnancy codes (GENDER M, 'M<TAB>', 'Male') are reported as a plausibility failure
    assert not evaluations["pregnancy_codes_on_male_patients"].passed
    assert evaluations["pregnancy_codes_on_male_patients"].metadata["patients"].value == 3
    # lab rows left out of flagging are counted on the lab_results materialization (metadata, not a check)
    (labs,) = [m for m in result.get_asset_materialization_events() if m.asset_key == dg.AssetKey("lab_results")]
    excluded = labs.materialization.metadata
    assert excluded["excluded_unknown_unit"].value == 2  # calcium 7.0 mg% and the 22q11 child's calcium 9.4 mg%
    assert excluded["excluded_implausible"].value == 2  # calcium 45 mg/dL and 0.4 mmol/L
    # calcium 'hemolyzed' and '-inf', hCG 'NaN', 'inf' and '1e400', magnesium '1,5'
    assert excluded["excluded_not_numeric"].value == 6
    # hCG '>10' and '<5', ionized '<1.12', total calcium '<7.0', albumin '<2.0'
    assert excluded["excluded_censored"].value == 5
    # condition rows whose SYSTEM label is not an accepted one, counted per label (a warning)
    systems = evaluations["condition_code_systems_matched"]
    assert not systems.passed
    labels = {key: value.value for key, value in systems.metadata.items() if key.startswith("label ")}
    assert labels == {
        "label ICD-10": 2,
        "label ICD10CM": 1,
        "label SNOMED": 1,
        "label SNOMEDCT": 1,
        "label ICD-9-CM": 1,
    }


def test_every_vignette_patient_has_an_expectation() -> None:
    with (VIGNETTES / "extract" / "patients.csv").open(newline="") as handle:
        patients = [row["Id"] for row in csv.DictReader(handle)]
    expected = [row["patient_id"] for row in _read("expected_flags.csv")]
    assert sorted(patients) == sorted(expected)
    evidence_patients = {row["patient_id"] for row in _read("expected_evidence.csv")}
    gap_patients = {row["patient_id"] for row in _read("expected_care_gaps.csv")}
    assert evidence_patients | gap_patients <= set(patients)


def test_cohort_membership_and_patient_columns(con: duckdb.DuckDBPyConnection) -> None:
    expected = {row["patient_id"]: row for row in _read("expected_flags.csv") if row["in_cohort"] == "true"}
    rows = con.execute(
        "select patient_id, strftime(index_date, '%Y-%m-%d'), cramp_events, age_at_index, sex from cohort.patient_flags"
    ).fetchall()
    actual = {row[0]: row[1:] for row in rows}
    assert set(actual) == set(expected)
    for patient_id, row in expected.items():
        want = (row["index_date"], int(row["cramp_events"]), int(row["age_at_index"]), row["sex"])
        assert actual[patient_id] == want, patient_id


@pytest.mark.parametrize("row", _read("expected_flags.csv"), ids=lambda row: row["patient_id"])
def test_flags_of_each_vignette(con: duckdb.DuckDBPyConnection, row: dict[str, str]) -> None:
    columns = ", ".join(FLAG_COLUMNS)
    found = con.execute(
        f"select {columns}, any_primary_risk, risk_factor_count from cohort.patient_flags where patient_id = ?",
        [row["patient_id"]],
    ).fetchall()
    if row["in_cohort"] == "false":
        assert found == []
        return
    values = dict(zip([*FLAG_COLUMNS, "any_primary_risk", "risk_factor_count"], found[0], strict=True))
    true_flags = {flag for flag in FLAG_COLUMNS if values[flag]}
    expected_true = set(row["true_flags"].split())
    assert true_flags == expected_true, row["why"]
    primary = {"hypocalcemia", "neuropathy", "pad", "pregnancy"}
    not_counted = {"frequent_cramps", "nocturnal_cramps", "diabetic_neuropathy", "hcv_neuropathy"}
    assert values["any_primary_risk"] == bool(expected_true & primary)
    assert values["risk_factor_count"] == len({f for f in expected_true if not f.startswith("mimic_")} - not_counted)


def _evidence_key(row: tuple | dict) -> tuple:
    if isinstance(row, dict):
        row = tuple(
            row[k]
            for k in (
                "patient_id",
                "flag",
                "source",
                "code_system",
                "code",
                "evidence_date",
                "value_normalized",
                "unit_normalized",
                "days_from_cramp",
            )
        )
    patient_id, flag, source, code_system, code, evidence_date, value, unit, days = row
    return (
        patient_id,
        flag,
        source,
        code_system or "",
        code or "",
        str(evidence_date),
        round(float(value), 6) if value not in (None, "") else None,
        unit or "",
        int(days),
    )


def test_flag_evidence_rows(con: duckdb.DuckDBPyConnection) -> None:
    actual = con.execute(
        "select patient_id, flag, source, code_system, code, evidence_date, value_normalized, unit_normalized, "
        "days_from_cramp from cohort.flag_evidence"
    ).fetchall()
    actual_keys = sorted(_evidence_key(row) for row in actual)
    expected_keys = sorted(_evidence_key(row) for row in _read("expected_evidence.csv"))
    assert len(actual_keys) == len(set(actual_keys)), "evidence rows are unique"
    missing = sorted(set(expected_keys) - set(actual_keys))
    unexpected = sorted(set(actual_keys) - set(expected_keys))
    assert (missing, unexpected) == ([], [])


def test_care_gaps(con: duckdb.DuckDBPyConnection) -> None:
    actual = set(con.execute("select patient_id, gap from cohort.care_gaps").fetchall())
    expected = {(row["patient_id"], row["gap"]) for row in _read("expected_care_gaps.csv")}
    assert actual == expected


def test_attrition(con: duckdb.DuckDBPyConnection) -> None:
    flags = _read("expected_flags.csv")
    cohort_rows = [row for row in flags if row["in_cohort"] == "true"]

    def having(flag: str) -> int:
        return sum(flag in row["true_flags"].split() for row in cohort_rows)

    primary = ("hypocalcemia", "neuropathy", "pad", "pregnancy")
    any_primary = sum(bool(set(row["true_flags"].split()) & set(primary)) for row in cohort_rows)
    expected = [len(flags), len(cohort_rows), any_primary, *(having(flag) for flag in primary)]
    actual = con.execute("select step_number, patients from cohort.attrition order by step_number").fetchall()
    assert actual == list(enumerate(expected, start=1))


def test_pregnancy_episodes_merge(con: duckdb.DuckDBPyConnection) -> None:
    episodes = con.execute(
        "select strftime(episode_start, '%Y-%m-%d'), start_evidence_rows from intermediate.pregnancy_episodes "
        "where patient_id = 'pregnancy_overlapping_episodes_merge'"
    ).fetchall()
    assert episodes == [("2024-02-22", 2)]


def test_phenotype_version_on_every_cohort_row(con: duckdb.DuckDBPyConnection) -> None:
    version = phenotype_version()
    assert version.startswith("cramp-risk-2+") and len(version) == len("cramp-risk-2+") + 8
    tables = [
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('intermediate', 'cohort')"
        ).fetchall()
    ]
    expected = {"cramp_events", "flag_evidence", "patient_flags", "care_gaps", "attrition"}
    assert {f"cohort.{t}" for t in expected} | {"intermediate.lab_results"} <= set(tables)
    for table in tables:
        columns = {c for (c,) in con.execute(f"select column_name from (describe {table})").fetchall()}
        if table.startswith("cohort.") or "phenotype_version" in columns:
            versions = con.execute(f"select distinct phenotype_version from {table}").fetchall()
            assert versions in ([(version,)], []), table
