"""SQL unit tests: a handful of staging rows in a DuckDB file in, exact cohort rows out."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.cohort.models import ASSET_MODELS, build_phenotype, build_tables
from pipelines.reference import seeds
from pipelines.reference.build import build_reference_data

STAGING_DDL = """
create schema staging;
create table staging.patients (patient_id varchar, birth_date date, death_date date, sex varchar);
create table staging.conditions (
    patient_id varchar, encounter_id varchar, code_system varchar, code varchar, description varchar,
    start_date date, stop_date date
);
create table staging.observations (
    patient_id varchar, encounter_id varchar, observed_at timestamp, observation_date date,
    code_system varchar, code varchar, value_text varchar, value_numeric double, value_comparator varchar,
    units varchar
);
"""


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(tmp_path / "unit.duckdb"))
    connection.execute(STAGING_DDL)
    yield connection
    connection.close()


def add_labs(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, str, float | None, str | None]]) -> None:
    """(patient_id, date, code, value, units) rows; value_text is the value as delivered."""
    for patient_id, day, code, value, units in rows:
        con.execute(
            "insert into staging.observations values (?, 'e1', cast(? as timestamp) + interval 8 hour, "
            "cast(? as date), 'LOINC', ?, ?, ?, null, ?)",
            [patient_id, day, day, code, str(value), value, units],
        )


def code_of(con: duckdb.DuckDBPyConnection, value_set: str) -> str:
    """The first listed code of a value set (tests never spell clinical codes twice)."""
    return con.execute(
        "select code_key from ref.value_set_codes where value_set = ? order by code_listed limit 1", [value_set]
    ).fetchone()[0]


def test_unit_normalization_and_exclusions(con: duckdb.DuckDBPyConnection) -> None:
    build_reference_data(con)
    calcium, magnesium, albumin = (code_of(con, name) for name in ("calcium_total", "magnesium", "albumin"))
    add_labs(
        con,
        [
            ("p1", "2024-01-01", calcium, 1.9, "mmol/L"),  # x 4.008
            ("p2", "2024-01-01", calcium, 9.2, " MG/DL "),  # case and spaces
            ("p3", "2024-01-01", calcium, 7.0, "mg%"),  # unknown unit: never guessed
            ("p4", "2024-01-01", calcium, 45.0, "mg/dL"),  # implausible (> 20)
            ("p5", "2024-01-01", magnesium, 0.6, "mmol/L"),  # x 2.431
            ("p6", "2024-01-01", magnesium, 1.3, "mEq/L"),  # x 1.2155
            ("p7", "2024-01-01", albumin, 25.0, "g/L"),  # / 10
            ("p8", "2024-01-01", calcium, None, "mg/dL"),  # not a number
        ],
    )
    build_tables(con, ASSET_MODELS["lab_results"])
    rows = con.execute(
        "select patient_id, value_canonical, canonical_unit, usable, exclusion_reason "
        "from intermediate.lab_results order by patient_id"
    ).fetchall()
    assert rows == [
        ("p1", 7.6152, "mg/dL", True, None),
        ("p2", 9.2, "mg/dL", True, None),
        ("p3", None, None, False, "unknown_unit"),
        ("p4", None, "mg/dL", False, "implausible"),
        ("p5", 1.4586, "mg/dL", True, None),
        ("p6", 1.58015, "mg/dL", True, None),
        ("p7", 2.5, "g/dL", True, None),
        ("p8", None, "mg/dL", False, "not_numeric"),
    ]


def test_corrected_calcium(con: duckdb.DuckDBPyConnection) -> None:
    build_reference_data(con)
    calcium, albumin = code_of(con, "calcium_total"), code_of(con, "albumin")
    add_labs(
        con,
        [
            # 7.9 + 0.8 x (4.0 - 2.5) = 9.1: pseudohypocalcemia, not low
            ("a", "2024-01-10", calcium, 7.9, "mg/dL"),
            ("a", "2024-01-13", albumin, 2.5, "g/dL"),
            # albumin 8 days away is not paired: 7.9 stays low
            ("b", "2024-01-10", calcium, 7.9, "mg/dL"),
            ("b", "2024-01-02", albumin, 2.5, "g/dL"),
            # the closest albumin wins (1 day away: 4.6 -> 8.0 - 0.48 = 7.52), not the 3.0 six days away
            ("c", "2024-01-10", calcium, 8.0, "mg/dL"),
            ("c", "2024-01-11", albumin, 4.6, "g/dL"),
            ("c", "2024-01-04", albumin, 3.0, "g/dL"),
            # an implausible albumin is never used: 8.4 as measured is low
            ("d", "2024-01-10", calcium, 8.4, "mg/dL"),
            ("d", "2024-01-10", albumin, 0.1, "g/dL"),
        ],
    )
    build_tables(con, ASSET_MODELS["lab_results"])
    build_tables(con, ("intermediate.calcium_corrected", "intermediate.calcium_verdicts"))
    rows = con.execute(
        "select patient_id, value_normalized, albumin_g_dl, is_low from intermediate.calcium_verdicts order by 1"
    ).fetchall()
    assert rows == [
        ("a", 9.1, 2.5, False),
        ("b", 7.9, None, True),
        ("c", 7.52, 4.6, True),
        ("d", 8.4, None, True),
    ]


def test_icd_prefix_and_exact_matching(con: duckdb.DuckDBPyConnection) -> None:
    build_reference_data(con)
    prefix, exact = con.execute(
        "select "
        "(select code_key from ref.value_set_codes where value_set = 'neuropathy' and match = 'prefix' "
        "order by code_key limit 1), "
        "(select code_key from ref.value_set_codes where value_set = 'neuropathy' and match = 'exact' "
        "and code_system = 'ICD10CM' order by code_key limit 1)"
    ).fetchone()
    rows = [
        ("child_of_prefix", "ICD10CM", prefix + "9"),  # a prefix entry matches its children
        ("prefix_itself", "ICD10CM", prefix),
        ("child_of_exact", "ICD10CM", exact + "9"),  # an exact entry does not
        ("exact_itself", "ICD10CM", exact),
        ("unknown_system", "UNKNOWN", exact),  # a system outside the accepted labels never matches
    ]
    for patient_id, system, code in rows:
        con.execute(
            "insert into staging.conditions values (?, 'e1', ?, ?, '', date '2024-01-01', null)",
            [patient_id, system, code],
        )
    build_tables(con, ASSET_MODELS["condition_matches"])
    matched = con.execute(
        "select distinct patient_id from intermediate.condition_matches where value_set = 'neuropathy' order by 1"
    ).fetchall()
    assert matched == [("child_of_prefix",), ("exact_itself",), ("prefix_itself",)]


def test_no_cramps_gives_an_empty_cohort(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("insert into staging.patients values ('p1', date '1950-01-01', null, 'F')")
    build_reference_data(con)
    diabetes = code_of(con, "diabetes")
    con.execute(
        f"insert into staging.conditions values ('p1', 'e1', 'ICD10CM', '{diabetes}', '', date '2020-01-01', null)"
    )
    build_phenotype(con)
    for table in ("cramp_events", "flag_evidence", "patient_flags", "care_gaps"):
        assert con.execute(f"select count(*) from cohort.{table}").fetchone()[0] == 0, table
    assert con.execute("select step_number, patients from cohort.attrition order by 1").fetchall() == [
        (1, 1),
        (2, 0),
        (3, 0),
        (4, 0),
        (5, 0),
        (6, 0),
        (7, 0),
    ]


def test_phenotype_version_follows_every_seed(tmp_path: Path) -> None:
    copy = tmp_path / "seeds"
    shutil.copytree(seeds.SEEDS_DIR, copy)
    original = seeds.phenotype_version(copy)
    assert original == seeds.phenotype_version()
    assert original.startswith("cramp-risk-2+")
    for path in seeds.seed_files(copy):
        saved = path.read_bytes()
        path.write_bytes(saved + b"\n")
        assert seeds.phenotype_version(copy) != original, path.name
        path.write_bytes(saved)
    assert seeds.phenotype_version(copy) == original


def test_missing_parameter_fails_loudly(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    copy = tmp_path / "seeds"
    shutil.copytree(seeds.SEEDS_DIR, copy)
    path = copy / "phenotype_parameters.csv"
    kept = [line for line in path.read_text().splitlines(keepends=True) if not line.startswith("abi_low_ratio,")]
    path.write_text("".join(kept))
    with pytest.raises(ValueError, match="abi_low_ratio"):
        build_reference_data(con, copy)
