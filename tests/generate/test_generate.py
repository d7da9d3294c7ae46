"""The synthetic extract generator: layout, determinism, planted defects and the ground truth.

The checks read the written files back independently (csv module, DuckDB, Polars), not the generator's
internal frames, so a file that does not say what the truth claims fails here.
"""

from __future__ import annotations

import csv
import re
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
import simple_icd_10_cm as icd

from pipelines.contract.flags import PRIMARY_FLAGS, SECONDARY_FLAGS
from pipelines.contract.synthea import LAYOUTS
from pipelines.generate import generate_extract, read_truth
from pipelines.generate.codebook import load_codebook
from pipelines.generate.fields import ANCHOR
from pipelines.generate.truth import CARE_GAPS, FLAG_COLUMNS

TABLES = tuple(LAYOUTS)
DATE_COLUMN = {
    "patients": "BIRTHDATE",
    "encounters": "START",
    "conditions": "START",
    "observations": "DATE",
    "medications": "START",
    "procedures": "START",
}
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?")
KNOWN_UNITS = {  # the accepted lab units (sql/seeds/lab_units.csv; lower-case, trimmed)
    "calcium_total": {"mg/dl": 1.0, "mmol/l": 4.008},
    "albumin": {"g/dl": 1.0, "g/l": 0.1},
    "magnesium": {"mg/dl": 1.0, "mmol/l": 2.431, "meq/l": 1.2155},
    "abi": {"": 1.0, "1": 1.0, "ratio": 1.0, "{ratio}": 1.0},
}
PLAUSIBLE = {"calcium_total": (2, 20), "albumin": (0.5, 7), "magnesium": (0.2, 10), "abi": (0.1, 2.0)}


# -- fixtures ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def extract_10k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen10k") / "batch_10k"
    started = time.perf_counter()
    summary = generate_extract(out, patients=10_000, seed=42)
    print(f"\n10,000 patients generated in {time.perf_counter() - started:.1f} s\n{summary}")
    return out


@pytest.fixture(scope="module")
def defective(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gendef") / "landing"
    generate_extract(out, patients=2_000, seed=3, batches=3, defects=0.03)
    return out


def _lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def _fields(line: bytes) -> list[str]:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text = line.decode("latin-1")
    return next(csv.reader([text]))


def _parse_date(text: str) -> date | None:
    if not DATE_RE.fullmatch(text or ""):
        return None
    try:
        return datetime.strptime(text[:10], "%Y-%m-%d").date()
    except ValueError:
        return None


def _read(folder: Path, table: str) -> pl.DataFrame:
    return pl.read_csv(folder / f"{table}.csv", infer_schema=False, encoding="utf8-lossy", truncate_ragged_lines=True)


def _batch_dirs(out: Path) -> list[Path]:
    return sorted(d for d in out.iterdir() if d.is_dir() and not d.name.startswith("_"))


# -- layout -------------------------------------------------------------------------------------------------
def test_one_batch_layout_headers_and_values(extract_10k: Path) -> None:
    assert (extract_10k / "_SUCCESS").exists()
    assert sorted(p.name for p in (extract_10k / "_truth").iterdir()) == [
        "care_gaps.csv",
        "defects.csv",
        "expected_counts.csv",
        "patient_flags.csv",
    ]
    for table, layout in LAYOUTS.items():
        lines = _lines(extract_10k / f"{table}.csv")
        assert tuple(_fields(lines[0])) == layout.columns, table  # Synthea 3.x headers, in order
        width = len(layout.columns)
        assert all(len(_fields(line)) == width for line in lines[1:]), table
        dates = [_parse_date(_fields(line)[layout.columns.index(DATE_COLUMN[table])]) for line in lines[1:]]
        assert all(d is not None and d <= ANCHOR for d in dates), table

    patients = _read(extract_10k, "patients")
    genders = set(patients["GENDER"])
    assert {"M", "F", "Male", "FEMALE"} <= genders  # some extracts spell sex out, in any case, with spaces
    assert {g.strip().upper() for g in genders} == {"M", "F", "MALE", "FEMALE"}
    ages = ANCHOR.year - patients["BIRTHDATE"].str.slice(0, 4).cast(pl.Int32)
    assert ages.min() <= 2 and ages.max() >= 90
    assert 0.03 < patients["DEATHDATE"].is_not_null().mean() < 0.15

    conditions = _read(extract_10k, "conditions")
    systems = set(conditions["SYSTEM"])
    # the accepted labels in any case and with white space, blank (SNOMED CT), and WHO ICD-10 (matches nothing)
    assert {"SNOMED-CT", "http://snomed.info/sct", "ICD-10-CM", "http://hl7.org/fhir/sid/icd-10-cm"} < systems
    assert {"", " icd-10-cm\t", "ICD-10"} < systems
    assert {(s or "").strip().lower() for s in systems} == {
        "",
        "snomed-ct",
        "http://snomed.info/sct",
        "icd-10-cm",
        "http://hl7.org/fhir/sid/icd-10-cm",
        "icd-10",
    }
    assert conditions["CODE"].str.ends_with("\t").any() and conditions["CODE"].str.starts_with("\u00a0").any()
    icd_rows = conditions.filter(pl.col("SYSTEM").str.contains("(?i)icd"))
    assert 0.1 < icd_rows.height / conditions.height < 0.35
    assert (
        icd_rows["CODE"].str.contains(".", literal=True).any()
        and (~icd_rows["CODE"].str.contains(".", literal=True)).any()
    )
    assert conditions["START"].str.contains("T").any() and (~conditions["START"].str.contains("T")).any()

    observations = _read(extract_10k, "observations")
    qol = observations.filter(pl.col("CODE").is_in(["QALY", "DALY", "QOLS"]))
    assert qol.height > 0 and qol["ENCOUNTER"].is_null().all()
    assert observations.filter(pl.col("TYPE") == "text").height > 0
    calcium_units = set(observations.filter(pl.col("CODE") == load_codebook().lab("calcium_total").code)["UNITS"])
    assert {"mg/dL", "mmol/L"} <= calcium_units and len(calcium_units) > 2  # case/space variants too

    # Every event row (except the QOL rows) refers to an encounter of the same patient.
    encounters = _read(extract_10k, "encounters").select(pl.col("Id").alias("ENCOUNTER"), pl.col("PATIENT").alias("P"))
    for table in ("conditions", "observations", "medications", "procedures"):
        rows = _read(extract_10k, table).filter(pl.col("ENCOUNTER").is_not_null())
        joined = rows.join(encounters, on="ENCOUNTER", how="left")
        assert (joined["P"] == joined["PATIENT"]).all(), table

    density = {t: _read(extract_10k, t).height / patients.height for t in TABLES if t != "patients"}
    print(f"rows per patient: { {t: round(v, 1) for t, v in density.items()} }")
    assert 8 <= density["encounters"] <= 13 and 6 <= density["conditions"] <= 11
    assert 16 <= density["observations"] <= 25 and 2 <= density["medications"] <= 4


def test_clean_extract_loads_into_duckdb_with_the_expected_counts(extract_10k: Path, tmp_path: Path) -> None:
    counts = pl.read_csv(extract_10k / "_truth" / "expected_counts.csv")
    con = duckdb.connect(str(tmp_path / "load.duckdb"))
    try:
        for table in TABLES:
            con.execute(
                f"create table {table} as select * from read_csv(?, all_varchar = true, header = true)",
                [str(extract_10k / f"{table}.csv")],
            )
            expected = counts.filter((pl.col("batch_id") == "ALL") & (pl.col("source_file") == f"{table}.csv"))
            assert con.execute(f"select count(*) from {table}").fetchone()[0] == expected["rows_written"].item()
        # Without defects or re-deliveries every row is current: ids are unique and all references resolve.
        for table in ("patients", "encounters"):
            n, distinct = con.execute(f"select count(*), count(distinct Id) from {table}").fetchone()
            assert n == distinct
        orphans = con.execute(
            "select count(*) from conditions c left join encounters e on c.ENCOUNTER = e.Id where e.Id is null"
        ).fetchone()[0]
        assert orphans == 0
    finally:
        con.close()


# -- determinism ----------------------------------------------------------------------------------------------
def test_same_arguments_give_the_same_bytes(tmp_path: Path) -> None:
    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    a = generate_extract(tmp_path / "a" / "landing", patients=1_200, seed=11, batches=2, defects=0.02)
    b = generate_extract(tmp_path / "b" / "landing", patients=1_200, seed=11, batches=2, defects=0.02)
    first, second = files(tmp_path / "a" / "landing"), files(tmp_path / "b" / "landing")
    assert first.keys() == second.keys() and len(first) == 2 * 7 + 4
    assert first == second
    assert a.rows == b.rows and a.planted_patients == b.planted_patients == 120
    generate_extract(tmp_path / "c" / "landing", patients=1_200, seed=12, batches=2, defects=0.02)
    assert files(tmp_path / "c" / "landing")["2026-05-31/patients.csv"] != first["2026-05-31/patients.csv"]


# -- defects and batches ------------------------------------------------------------------------------------------
def test_listed_defects_are_really_defective(defective: Path) -> None:
    defects = pl.read_csv(defective / "_truth" / "defects.csv", schema_overrides={"source_line": pl.Int64})
    batch_dirs = _batch_dirs(defective)
    assert [d.name for d in batch_dirs] == sorted(defects["batch_id"].unique())
    assert all((d / "_SUCCESS").exists() for d in batch_dirs)
    # Final state of patients (newest batch wins) and all encounter ids, for the reference checks.
    births: dict[str, date] = {}
    deaths: dict[str, date] = {}
    encounter_ids: set[str] = set()
    for d in batch_dirs:
        for line in _lines(d / "patients.csv")[1:]:
            f = _fields(line)
            if len(f) == 28 and _parse_date(f[1]):
                births[f[0]] = _parse_date(f[1])
                if f[2]:
                    deaths[f[0]] = _parse_date(f[2])
        encounter_ids |= {_fields(x)[0] for x in _lines(d / "encounters.csv")[1:]}
    codebook = load_codebook()
    measure_of = {codebook.lab(m).code: m for m in KNOWN_UNITS}
    listed: dict[tuple[str, str], dict[int, str]] = {}
    for row in defects.iter_rows(named=True):
        listed.setdefault((row["batch_id"], row["source_file"]), {})[row["source_line"]] = row["defect"]
    assert not defects.filter(~pl.col("planted") & pl.col("defect").is_null()).height
    refs = References(births, deaths, encounter_ids, measure_of)
    seen: set[str] = set()
    for d in batch_dirs:
        for table, layout in LAYOUTS.items():
            lines = _lines(d / f"{table}.csv")
            header = layout.columns
            wanted = listed.get((d.name, f"{table}.csv"), {})
            for number, line in enumerate(lines[1:], start=2):
                cls = wanted.get(number)
                f = _fields(line)
                if cls in (None, "unknown_unit", "implausible_value", "exact_duplicate"):
                    line.decode("utf-8")
                    assert len(f) == len(header), (d.name, table, number)
                    assert _parse_date(f[header.index(DATE_COLUMN[table])]), (d.name, table, number)
                if cls is None:
                    continue
                seen.add(cls)
                ok = _defect_holds(cls, table, header, lines, number, refs)
                assert ok, (d.name, table, number, cls, line[:200])
    assert seen == {
        "too_many_fields",
        "too_few_fields",
        "invalid_encoding",
        "invalid_date",
        "future_date",
        "event_before_birth",
        "event_after_death",
        "orphan_patient",
        "orphan_encounter",
        "missing_required_field",
        "exact_duplicate",
        "unknown_unit",
        "implausible_value",
    }


@dataclass(frozen=True)
class References:
    births: dict[str, date]
    deaths: dict[str, date]
    encounter_ids: set[str]
    measure_of: dict[str, str]


def _defect_holds(
    cls: str, table: str, header: tuple[str, ...], lines: list[bytes], number: int, refs: References
) -> bool:
    """Whether line `number` of the file (header = line 1) really has the defect `cls`."""
    line = lines[number - 1]
    f = _fields(line)
    rec = dict(zip(header, f, strict=False))
    when = _parse_date(rec.get(DATE_COLUMN[table], ""))
    if cls == "too_many_fields":
        return len(f) > len(header)
    if cls == "too_few_fields":
        return len(f) < len(header)
    if cls == "invalid_encoding":
        return _not_utf8(line)
    if cls == "invalid_date":
        return when is None
    if cls == "future_date":
        return when is not None and when.year >= 2096
    if cls == "event_before_birth":
        return when < refs.births[rec["PATIENT"]]
    if cls == "event_after_death":
        return when > refs.deaths[rec["PATIENT"]]
    if cls == "orphan_patient":
        return rec["PATIENT"] not in refs.births
    if cls == "orphan_encounter":
        return rec["PATIENT"] in refs.births and rec["ENCOUNTER"] not in refs.encounter_ids
    if cls == "missing_required_field":
        return rec["Id"] == "" if table in ("patients", "encounters") else "" in (rec["PATIENT"], rec["CODE"])
    if cls == "exact_duplicate":
        return line == lines[number]  # the next line repeats it; the earlier copy is the one superseded
    if cls == "unknown_unit":
        return rec["UNITS"].strip().lower() not in KNOWN_UNITS[refs.measure_of[rec["CODE"]]]
    if cls == "implausible_value":
        return _implausible(rec, refs.measure_of)
    raise AssertionError(f"unknown defect class {cls}")


def _not_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _implausible(rec: dict[str, str], measure_of: dict[str, str]) -> bool:
    measure = measure_of[rec["CODE"]]
    value = float(rec["VALUE"]) * KNOWN_UNITS[measure][rec["UNITS"].strip().lower()]
    lo, hi = PLAUSIBLE[measure]
    return not lo <= value <= hi


def test_expected_counts_add_up_and_match_the_files(defective: Path) -> None:
    counts = pl.read_csv(defective / "_truth" / "expected_counts.csv")
    for row in counts.filter(pl.col("batch_id") != "ALL").iter_rows(named=True):
        lines = _lines(defective / row["batch_id"] / row["source_file"])
        assert row["rows_written"] == len(lines) - 1
        assert row["rows_written"] == row["rows_loaded"] + row["rows_quarantined"] + row["rows_superseded"]
    total = counts.filter(pl.col("batch_id") == "ALL")
    assert (total["rows_in_staging"] == total["rows_loaded"]).all()
    assert (total["rows_superseded"] > 0).all() and (total["rows_quarantined"] > 0).all()
    patients = total.filter(pl.col("source_file") == "patients.csv")
    assert patients["rows_in_staging"].item() == 2_000
    # Later batches re-deliver: a condition first without STOP, later with it, keyed the same.
    later = _read(_batch_dirs(defective)[-1], "conditions").filter(pl.col("STOP").is_not_null())
    first = _read(_batch_dirs(defective)[0], "conditions").filter(pl.col("STOP").is_null())
    updated = later.join(first, on=["PATIENT", "ENCOUNTER", "CODE", "START"], how="inner")
    assert updated.height > 0


# -- ground truth ----------------------------------------------------------------------------------------------------
def test_truth_cohort_is_what_the_files_contain(defective: Path) -> None:
    """Cohort membership, index date and cramp days recomputed from the CSV files with DuckDB."""
    value_sets = load_codebook().value_sets.filter(pl.col("value_set") == "cramp")
    con = duckdb.connect()
    try:
        con.register("cramp_codes", value_sets.select("code_system", "code_norm", "match").to_arrow())
        folder_glob = str(defective / "*" / "conditions.csv")
        from_files = con.execute(
            rf"""
            with conditions as (
                select
                    PATIENT as patient_id,
                    case lower(trim(regexp_replace(coalesce(SYSTEM, ''), '\s', '', 'g')))
                        when '' then 'SNOMED'
                        when 'snomed-ct' then 'SNOMED'
                        when 'http://snomed.info/sct' then 'SNOMED'
                        when 'icd-10-cm' then 'ICD10CM'
                        when 'http://hl7.org/fhir/sid/icd-10-cm' then 'ICD10CM'
                    end as code_system,
                    upper(replace(regexp_replace(CODE, '^[\s\pZ]+|[\s\pZ]+$', '', 'g'), '.', '')) as code,
                    try_cast(left(START, 10) as date) as start_date,
                from read_csv('{folder_glob}', all_varchar = true, ignore_errors = true, strict_mode = false)
            ),
            cramps as (
                select distinct patient_id, start_date
                from conditions c
                join cramp_codes v
                    on v.code_system = c.code_system
                    and (c.code = v.code_norm or (v.match = 'prefix' and starts_with(c.code, v.code_norm)))
            ),
            final as (
                select patient_id, min(start_date) as index_date, count(*) as cramp_events
                from cramps
                group by patient_id
            )
            select * from final order by patient_id
            """
        ).pl()
    finally:
        con.close()
    truth = read_truth(defective)["patient_flags"]
    assert truth.height == 200
    assert from_files.rows() == truth.select("patient_id", "index_date", "cramp_events").rows()


@pytest.fixture(scope="module")
def truth_10k(extract_10k: Path) -> pl.DataFrame:
    return pl.read_csv(extract_10k / "_truth" / "patient_flags.csv", try_parse_dates=True)


def test_every_flag_has_positives_and_negatives(truth_10k: pl.DataFrame, extract_10k: Path) -> None:
    assert truth_10k.height == 1_000
    for flag in (*FLAG_COLUMNS, "any_primary_risk"):
        values = set(truth_10k[flag])
        assert values == {True, False}, flag
    gaps = pl.read_csv(extract_10k / "_truth" / "care_gaps.csv")
    assert set(gaps["gap"]) == set(CARE_GAPS)
    assert gaps["patient_id"].is_in(truth_10k["patient_id"].implode()).all()
    counted = truth_10k.select(
        pl.sum_horizontal(
            pl.col(c).cast(pl.Int32)
            for c in (*PRIMARY_FLAGS, *SECONDARY_FLAGS)
        )
    ).to_series()
    assert (counted == truth_10k["risk_factor_count"]).all()


# Variants whose outcome no other planted row can change (one variant per family and patient).
DECISIVE = {
    "ca_low_edge_before": ("hypocalcemia", True),
    "ca_low_mmol_edge_after": ("hypocalcemia", True),
    "ionized_low_decides": ("hypocalcemia", True),
    "ca_low_albumin_8d_away": ("hypocalcemia", True),
    "pseudohypoca": ("hypocalcemia", False),
    "pseudohypoca_g_l": ("hypocalcemia", False),
    "ionized_normal_decides": ("hypocalcemia", False),
    "ca_unknown_unit": ("hypocalcemia", False),
    "ca_implausible": ("hypocalcemia", False),
    "abi_low_edge730": ("pad", True),
    "abi_at_threshold": ("pad", True),
    "abi_normal": ("pad", False),
    "abi_implausible": ("pad", False),
    "claudication": ("mimic_claudication", True),
    "dm_plus_neuro": ("diabetic_neuropathy", True),
    "dm_only": ("neuropathy", False),
    "hcv_resolved_plus_neuro": ("hcv_neuropathy", True),
    "preg_ongoing": ("pregnancy", True),
    "preg_edge_280d": ("pregnancy", True),
    "preg_weeks_after": ("pregnancy", True),
    "hcg_quant_iu_l": ("pregnancy", True),
    "hcg_negative": ("pregnancy", False),
    "hcg_quant_low": ("pregnancy", False),
    "preg_code_male": ("pregnancy", False),
    "mg_low_mmol": ("hypomagnesemia", True),
    "mg_normal_mmol": ("hypomagnesemia", False),
    "mg_at_threshold": ("hypomagnesemia", False),
    "iga_only": ("juvenile_arthritis", False),
    "sever_adult": ("sever_disease", False),
    "del22q11_adult": ("pediatric_22q11", False),
    "age_birthday65": ("elderly", True),
    "age_turns65": ("elderly", True),
    "age_teen17": ("elderly", False),
    "spread366": ("frequent_cramps", False),
    "frequent_edge365": ("frequent_cramps", True),
    # cramp-risk-2 (only the hypocalcemia family plants calcium, albumin and hypoparathyroidism rows, and so on)
    "ca_low_unit_tab": ("hypocalcemia", True),
    "ca_low_moles_loinc": ("hypocalcemia", True),
    "ionized_serum_loinc_low": ("hypocalcemia", True),
    "albumin_bcg_corrects": ("hypocalcemia", False),
    "albumin_bcp_g_l_corrects": ("hypocalcemia", False),
    "albumin_closest_by_hours": ("hypocalcemia", False),
    "albumin_tie_earlier_wins": ("hypocalcemia", False),
    "albumin_7d_2h_not_paired": ("hypocalcemia", True),
    "albumin_exactly_7d_paired": ("hypocalcemia", False),
    "ionized_censored_low": ("hypocalcemia", True),
    "ionized_censored_at_threshold": ("hypocalcemia", True),
    "ca_censored_excluded": ("hypocalcemia", False),
    "ca_not_a_number": ("hypocalcemia", False),
    "albumin_censored_not_used": ("hypocalcemia", True),
    "hypopara": ("hypocalcemia", True),
    "hypopara_autosomal_dominant": ("hypocalcemia", True),
    "dm_autonomic_only": ("neuropathy", False),
    "dm_polyneuropathy": ("diabetic_neuropathy", True),
    "tarsal_tunnel": ("neuropathy", True),
    "pad_diabetic_angiopathy": ("pad", True),
    "pad_total_occlusion": ("pad", True),
    "claudication_bypass_graft": ("mimic_claudication", True),
    "neurogenic_claudication": ("mimic_claudication", True),
    "abi_censored_low": ("pad", True),
    "preg_code_male_spelled_out": ("pregnancy", False),
    "preg_code_male_tab": ("pregnancy", False),
    "preg_female_spelled_out": ("pregnancy", True),
    "preg_weeks_visit_stop": ("pregnancy", True),
    "preg_post_term_on_cramp": ("pregnancy", True),
    "preg_puerperium_after_delivery": ("pregnancy", False),
    "preg_puerperium_alone": ("pregnancy", False),
    "preg_labor_complication": ("pregnancy", True),
    "preg_labor_complication_alone": ("pregnancy", False),
    "preg_positive_test_z32": ("pregnancy", True),
    "preg_merged_snomed_and_hcg": ("pregnancy", True),
    "hcg_censored_over_1000": ("pregnancy", True),
    "hcg_thousands_separator": ("pregnancy", True),
    "hcg_ucum_milli_unit": ("pregnancy", True),
    "hcg_ucum_per_litre": ("pregnancy", True),
    "hcg_unit_tab": ("pregnancy", True),
    "hcg_loinc_19080_1": ("pregnancy", True),
    "hcg_censored_not_decisive": ("pregnancy", False),
    "hcg_not_a_number": ("pregnancy", False),
    "hcg_30d_after_delivery": ("pregnancy", False),
    "hcg_on_delivery_day": ("pregnancy", False),
    "hypomg_magnesium_deficiency": ("hypomagnesemia", True),
    "mg_censored_low": ("hypomagnesemia", True),
    "mg_decimal_comma": ("hypomagnesemia", False),
    "heat_cramp_sequela": ("dehydration_heat", True),
    "plmd": ("mimic_rls", True),
    "postprocedural_hypothyroid": ("mimic_contracture", True),
}


@pytest.mark.parametrize("variant", sorted(DECISIVE))
def test_decisive_variants_score_as_the_spec_says(truth_10k: pl.DataFrame, variant: str) -> None:
    flag, expected = DECISIVE[variant]
    rows = truth_10k.filter(pl.col("scenario").str.split(";").list.contains(variant))
    assert rows.height > 0, f"no patient got {variant}"
    assert (rows[flag] == expected).all(), rows.select("patient_id", "scenario", flag).head()


def test_turning_65_between_cramps(truth_10k: pl.DataFrame) -> None:
    rows = truth_10k.filter(pl.col("scenario").str.contains("age_turns65"))
    assert (rows["age_at_index"] == 64).all() and rows["elderly"].all()
    same_day = truth_10k.filter(pl.col("scenario").str.split(";").list.contains("same_day_pair"))
    assert (same_day["cramp_events"] == 1).all()


# -- codes ---------------------------------------------------------------------------------------------------
def test_planted_codes_are_valid_and_in_their_value_sets() -> None:
    codebook = load_codebook()
    # pick lists named otherwise than the value set their codes are planted for (None: in no value set)
    planted_for = {
        "pregnancy_weeks": "pregnancy",
        "pregnancy_late": "pregnancy",
        "puerperium": "pregnancy_outcome",
        "heat_cramp_followup": "dehydration_heat",
        "labor_complication": None,
    }
    for pick_list, code in codebook.children.select("value_set", "code").iter_rows():
        expected_set = planted_for.get(pick_list, pick_list)
        system = "SNOMED" if code.isdigit() else "ICD10CM"
        if system == "ICD10CM":
            assert icd.is_valid_item(code), code
        if expected_set is None:
            assert codebook.members(system, code) == (), (pick_list, code)
        else:
            assert expected_set in codebook.members(system, code), (pick_list, code)
    assert "cramp" not in codebook.members("ICD10CM", "T67.2XXS")  # a heat-cramp sequela is not a new cramp
    for kind, system, code in codebook.background.select("kind", "code_system", "code").iter_rows():
        assert codebook.members(system or "", code) == (), (kind, code)  # noise stays outside every value set
    assert codebook.lab("abi").code == codebook.value_sets.filter(pl.col("value_set") == "abi")["code"][0]


def test_committed_sample_is_what_the_generator_writes(tmp_path: Path) -> None:
    """data_samples/README.md's command, rerun, gives the committed bytes (the sample never drifts)."""
    committed = Path(__file__).resolve().parents[2] / "data_samples" / "synthea_sample"
    fresh = tmp_path / "synthea_sample"
    generate_extract(fresh, patients=200, seed=7, batches=2, defects=0.01)
    names = sorted(str(p.relative_to(committed)) for p in committed.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(fresh)) for p in fresh.rglob("*") if p.is_file())
    for name in names:
        assert (committed / name).read_bytes() == (fresh / name).read_bytes(), name
    assert sum((committed / n).stat().st_size for n in names) < 2_000_000
