"""SYSTEM labels: only the accepted ones match by default; a site maps its own in a file named by a setting, whose
contents enter the phenotype version; labels that match nothing are counted by a warning check."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest
from vignettes.runner import materialize_extract

from pipelines.contract.code_systems import CodeSystemMapError, code_system_labels
from pipelines.reference.seeds import phenotype_version
from pipelines.settings import Settings, SettingsError

SITE_MAP = "source_system,code_system,note\nICD-10,ICD10CM,this site's extracts write ICD-10-CM as ICD-10\n"


def _write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    """Two patients: a cramp and a neuropathy under the WHO label ICD-10, and one under ICD-10-CM."""
    folder = tmp_path / "2024-12-01"
    folder.mkdir()
    _write(
        folder / "patients.csv",
        [["Id", "BIRTHDATE", "DEATHDATE", "GENDER"], ["who", "1980-01-01", "", "F"], ["cm", "1980-01-01", "", "M"]],
    )
    _write(
        folder / "encounters.csv",
        [
            ["Id", "START", "STOP", "PATIENT"],
            ["e-who", "2024-06-01T09:00:00Z", "2024-06-01T09:30:00Z", "who"],
            ["e-cm", "2024-06-01T09:00:00Z", "2024-06-01T09:30:00Z", "cm"],
        ],
    )
    _write(
        folder / "conditions.csv",
        [
            ["START", "STOP", "PATIENT", "ENCOUNTER", "SYSTEM", "CODE", "DESCRIPTION"],
            ["2024-06-01", "", "who", "e-who", "ICD-10", "R25.2", "Cramp and spasm"],
            ["2020-01-01", "", "who", "e-who", "icd-10 ", "G62.9", "Polyneuropathy, unspecified"],
            ["2024-06-01", "", "cm", "e-cm", "ICD-10-CM", "R25.2", "Cramp and spasm"],
        ],
    )
    _write(
        folder / "observations.csv",
        [["DATE", "PATIENT", "ENCOUNTER", "CODE", "VALUE", "UNITS"]],
    )
    return folder


def _run(tmp_path: Path, extract: Path, site_map: Path | None) -> tuple[dict, dict[str, bool], str]:
    db = tmp_path / ("site.duckdb" if site_map else "default.duckdb")
    result = materialize_extract(db, extract, site_map)
    assert result.success
    check = {e.check_name: e for e in result.get_asset_check_evaluations()}["condition_code_systems_matched"]
    with duckdb.connect(str(db), read_only=True) as con:
        flags = dict(con.execute("select patient_id, neuropathy from cohort.patient_flags").fetchall())
        version = con.execute("select distinct phenotype_version from cohort.patient_flags").fetchone()[0]
    return check, flags, version


def test_who_icd10_label_never_matches_by_default_and_is_reported(tmp_path: Path, extract: Path) -> None:
    check, flags, version = _run(tmp_path, extract, None)
    assert flags == {"cm": False}  # the WHO-labelled cramp and neuropathy match nothing
    assert not check.passed
    assert check.metadata["failing_rows"].value == 2
    assert check.metadata["label ICD-10"].value == 2  # 'ICD-10' and 'icd-10 ' are one label once trimmed
    assert version == phenotype_version()


def test_a_site_map_adds_labels_and_enters_the_version(tmp_path: Path, extract: Path) -> None:
    site_map = tmp_path / "site_code_systems.csv"
    site_map.write_text(SITE_MAP)
    check, flags, version = _run(tmp_path, extract, site_map)
    assert flags == {"cm": False, "who": True}
    assert check.passed and check.metadata["failing_rows"].value == 0
    assert version == phenotype_version(code_system_map_file=site_map) != phenotype_version()
    site_map.write_text(SITE_MAP + "SCT,SNOMED,\n")  # any change of the site's mapping is a new version
    assert phenotype_version(code_system_map_file=site_map) != version


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("source_system,code_system,note\nICD-10-CM,SNOMED,\n", "already mapped"),
        ("source_system,code_system,note\n icd-10-cm ,ICD10CM,\n", "already mapped"),
        ("source_system,code_system,note\nLN,LOINC,\n", "code_system must be one of"),
        ("source_system,code_system,note\n,ICD10CM,\n", "blank SYSTEM"),
        ("label,system\nICD-10,ICD10CM\n", "header"),
    ],
)
def test_a_bad_site_map_fails_at_start_naming_the_setting(tmp_path: Path, content: str, message: str) -> None:
    site_map = tmp_path / "site.csv"
    site_map.write_text(content)
    with pytest.raises(CodeSystemMapError, match=message):
        code_system_labels(site_map)
    with pytest.raises(SettingsError, match="code_system_map_file"):
        Settings.load(code_system_map_file=site_map)


def test_setting_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.load().code_system_map_file is None
    site_map = tmp_path / "site.csv"
    site_map.write_text(SITE_MAP)
    monkeypatch.setenv("CRAMP_COHORT_CODE_SYSTEM_MAP", str(site_map))
    assert Settings.load().code_system_map_file == site_map
    monkeypatch.setenv("CRAMP_COHORT_CODE_SYSTEM_MAP", "")
    assert Settings.load().code_system_map_file is None
    monkeypatch.setenv("CRAMP_COHORT_CODE_SYSTEM_MAP", str(tmp_path / "missing.csv"))
    with pytest.raises(SettingsError, match="code_system_map_file"):
        Settings.load()
