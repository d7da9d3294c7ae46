"""`cramp-cohort export-value-sets`: FHIR R4 ValueSet resources and the flat CSV, checked against the seed.

The FHIR JSON is validated three ways: the FHIR model of the `fhir.resources` package (R4B, whose ValueSet has the
R4 structure) parses every resource; the fields the export promises are checked one by one; and every seed
code is present after expansion, with the expansion of each prefix entry recomputed from simple-icd-10-cm.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
import simple_icd_10_cm as icd
from fhir.resources.R4B.valueset import ValueSet

from pipelines.cli import main as cli
from pipelines.reference.export import DEFAULT_BASE_URL, computable_name, resource_id_of
from pipelines.reference.seeds import SEEDS_DIR, phenotype_version

SYSTEMS = {
    "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "SNOMED": "http://snomed.info/sct",
    "LOINC": "http://loinc.org",
    "RXNORM": "http://www.nlm.nih.gov/research/umls/rxnorm",
}
SEED = list(csv.DictReader((SEEDS_DIR / "value_sets.csv").open(newline="")))
VALUE_SETS = list(dict.fromkeys(row["value_set"] for row in SEED))


def _expected_codes(value_set: str) -> dict[str, set[str]]:
    """system URI -> codes the export must hold, derived from the seed and the ICD-10-CM hierarchy."""
    out: dict[str, set[str]] = {}
    for row in SEED:
        if row["value_set"] != value_set:
            continue
        codes = {row["code"]}
        if row["code_system"] == "ICD10CM" and row["match"] == "prefix":
            codes |= set(icd.get_descendants(row["code"]))
        out.setdefault(SYSTEMS[row["code_system"]], set()).update(codes)
    return out


@pytest.fixture(scope="module")
def fhir_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fhir")
    assert cli(["export-value-sets", "--format", "fhir", "--out", str(out)]) == 0
    return out


def test_one_fhir_valueset_per_value_set(fhir_dir: Path) -> None:
    files = sorted(p.name for p in fhir_dir.iterdir())
    assert files == sorted(f"ValueSet-{resource_id_of(name)}.json" for name in VALUE_SETS)


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_fhir_valueset_structure_and_codes(fhir_dir: Path, value_set: str) -> None:
    resource = json.loads((fhir_dir / f"ValueSet-{resource_id_of(value_set)}.json").read_text())
    ValueSet.model_validate(resource)  # the FHIR model: types, cardinalities, required elements

    assert resource["resourceType"] == "ValueSet"
    assert re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", resource["id"])
    assert resource["url"] == f"{DEFAULT_BASE_URL}/{resource['id']}"
    assert resource["version"] == phenotype_version()
    assert resource["status"] in {"draft", "active", "retired", "unknown"}
    assert re.fullmatch(r"[A-Z]([A-Za-z0-9_]){1,254}", resource["name"]) and resource["name"] == computable_name(
        value_set
    )
    assert value_set.replace("_", " ") in resource["title"]

    includes = resource["compose"]["include"]
    systems = [include["system"] for include in includes]
    assert len(systems) == len(set(systems)), "one include per code system"
    got = {}
    for include in includes:
        codes = [concept["code"] for concept in include["concept"]]
        assert len(codes) == len(set(codes)), f"duplicate codes in the {include['system']} include"
        assert all(concept["display"].strip() for concept in include["concept"])
        got[include["system"]] = set(codes)
    assert got == _expected_codes(value_set)

    for include in includes:
        if include["system"] == SYSTEMS["ICD10CM"]:
            for concept in include["concept"]:
                assert "." in concept["code"] or len(concept["code"]) == 3  # the official form, with the dot
                assert concept["display"] == icd.get_description(concept["code"])
    unverified = [row["code"] for row in SEED if row["value_set"] == value_set and row["verified"] == "false"]
    for code in unverified:
        assert code in resource["description"]  # a reader of the resource is told which codes are unverified


def test_csv_holds_the_same_concepts(fhir_dir: Path, tmp_path: Path) -> None:
    assert cli(["export-value-sets", "--format", "csv", "--out", str(tmp_path)]) == 0
    rows = list(csv.DictReader((tmp_path / "value_sets.csv").open(newline="")))
    assert {row["phenotype_version"] for row in rows} == {phenotype_version()}
    from_csv = {(row["value_set"], row["system_uri"], row["code"], row["display"]) for row in rows}
    assert len(from_csv) == len(rows)
    from_fhir = set()
    for path in fhir_dir.iterdir():
        resource = json.loads(path.read_text())
        name = next(vs for vs in VALUE_SETS if resource_id_of(vs) == resource["id"])
        for include in resource["compose"]["include"]:
            from_fhir |= {(name, include["system"], c["code"], c["display"]) for c in include["concept"]}
    assert from_csv == from_fhir
    unverified = {(row["value_set"], row["code"]) for row in SEED if row["verified"] == "false"}
    assert {(row["value_set"], row["listed_code"]) for row in rows if row["verified"] == "false"} == unverified


def test_base_url_option(tmp_path: Path) -> None:
    base = "https://terminology.example.org/fhir/ValueSet/"
    assert cli(["export-value-sets", "--format", "fhir", "--out", str(tmp_path), "--base-url", base]) == 0
    resource = json.loads((tmp_path / f"ValueSet-{resource_id_of(VALUE_SETS[0])}.json").read_text())
    assert resource["url"] == f"{base.rstrip('/')}/{resource['id']}"


def test_what_cannot_be_expressed_faithfully_stops_the_export(tmp_path: Path) -> None:
    # export_value_sets reads the installed seeds; a broken copy is exercised through the function itself
    from pipelines.reference.export import export_value_sets
    from pipelines.reference.value_sets import ValueSetError

    for bad_row, message in (
        ("cramp,ICD10CM,R25.2,regex,Cramp,true", "unknown match kind"),
        ("cramp,ICD10CM,R99.99,exact,Not a code,true", "not in the ICD-10-CM FY2026"),
        ("cramp,READ,XE0Uj,exact,Read code,false", "unknown code system"),
    ):
        seeds = tmp_path / message.replace(" ", "_")
        shutil.copytree(SEEDS_DIR, seeds)
        with (seeds / "value_sets.csv").open("a") as handle:
            handle.write(bad_row + "\n")
        with pytest.raises(ValueSetError, match=message):
            export_value_sets(tmp_path / "out", "fhir", seeds_dir=seeds)


def test_version_names_the_site_code_system_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the exported version must be the one written on the pipeline's rows, which hashes a site's map too
    site_map = tmp_path / "site_code_systems.csv"
    site_map.write_text("source_system,code_system,note\nICD-10,ICD10CM,this site writes ICD-10-CM as ICD-10\n")
    monkeypatch.setenv("CRAMP_COHORT_CODE_SYSTEM_MAP", str(site_map))
    out = tmp_path / "fhir"
    assert cli(["export-value-sets", "--format", "fhir", "--out", str(out)]) == 0
    resource = json.loads((out / f"ValueSet-{resource_id_of(VALUE_SETS[0])}.json").read_text())
    assert resource["version"] == phenotype_version(code_system_map_file=site_map) != phenotype_version()
