"""The cohort asset graph: keys, groups, upstream staging assets, checks; and a cramp-free Synthea-like run."""

from __future__ import annotations

import csv
from pathlib import Path

import dagster as dg
import duckdb
from vignettes.runner import materialize_extract

from pipelines.orchestration.definitions import defs

COHORT_ASSETS = {
    "condition_matches",
    "lab_results",
    "cramp_events",
    "pregnancy_episodes",
    "flag_evidence",
    "patient_flags",
    "care_gaps",
    "cohort_attrition",
    "version_diff",
}


def test_cohort_assets_are_wired_to_staging() -> None:
    graph = defs.resolve_asset_graph()
    cohort = {key.to_user_string(): key for key in graph.get_all_asset_keys() if graph.get(key).group_name == "cohort"}
    assert set(cohort) == COHORT_ASSETS
    for key in cohort.values():
        node = graph.get(key)
        assert node.kinds == {"duckdb"}
        assert node.description, f"{key} states its grain"
    upstream = set()
    for key in cohort.values():
        upstream |= {parent.to_user_string() for parent in graph.get(key).parent_keys}
    assert {"staging_patients", "staging_conditions", "staging_observations", "reference_data"} <= upstream
    assert graph.get(dg.AssetKey("reference_data")).group_name == "reference"
    blocking = {check.name for checks in defs.asset_checks or [] for check in checks.check_specs if check.blocking}
    assert {"flags_match_evidence", "one_row_per_patient"} <= blocking


def _write(folder: Path, name: str, header: list[str], rows: list[list[str]]) -> None:
    with (folder / f"{name}.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def test_synthea_like_extract_without_cramps_gives_an_empty_cohort(tmp_path: Path) -> None:
    # Synthea has no cramp module: SNOMED-CT conditions and LOINC vitals only (codes outside every value set)
    batch = tmp_path / "landing" / "synthea"
    batch.mkdir(parents=True)
    _write(
        batch,
        "patients",
        ["Id", "BIRTHDATE", "DEATHDATE", "GENDER"],
        [["s1", "1960-01-01", "", "F"], ["s2", "1990-05-05", "", "M"]],
    )
    _write(
        batch,
        "encounters",
        ["Id", "START", "STOP", "PATIENT", "ENCOUNTERCLASS", "CODE", "DESCRIPTION"],
        [
            ["v1", "2020-01-01T10:00:00Z", "2020-01-01T10:30:00Z", "s1", "wellness", "410620009", "Well child visit"],
            ["v2", "2021-01-01T10:00:00Z", "2021-01-01T10:30:00Z", "s2", "ambulatory", "185345009", "Encounter"],
        ],
    )
    _write(
        batch,
        "conditions",
        ["START", "STOP", "PATIENT", "ENCOUNTER", "SYSTEM", "CODE", "DESCRIPTION"],
        [["2020-01-01", "2020-01-15", "s1", "v1", "SNOMED-CT", "444814009", "Viral sinusitis (disorder)"]],
    )
    _write(
        batch,
        "observations",
        ["DATE", "PATIENT", "ENCOUNTER", "CATEGORY", "CODE", "DESCRIPTION", "VALUE", "UNITS", "TYPE"],
        [["2020-01-01T10:00:00Z", "s1", "v1", "vital-signs", "8302-2", "Body Height", "165.0", "cm", "numeric"]],
    )
    db_path = tmp_path / "warehouse.duckdb"
    result = materialize_extract(db_path, batch)
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        for table in ("cramp_events", "patient_flags", "flag_evidence", "care_gaps"):
            assert con.execute(f"select count(*) from cohort.{table}").fetchone()[0] == 0, table
        attrition = con.execute("select step_number, patients from cohort.attrition order by 1").fetchall()
    finally:
        con.close()
    assert attrition == [(1, 2), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0), (7, 0)]
    assert isinstance(result, dg.ExecuteInProcessResult)
