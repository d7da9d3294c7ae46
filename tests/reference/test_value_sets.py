"""The value-set seed against the FY2026 ICD-10-CM tabular list (simple_icd_10_cm) and against itself."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest
import simple_icd_10_cm as icd
from value_set_derivation import outcome_codes, pregnancy_entries

from pipelines.reference.seeds import SEEDS_DIR

ROWS = list(csv.DictReader((SEEDS_DIR / "value_sets.csv").open(newline="")))
ICD_ROWS = [row for row in ROWS if row["code_system"] == "ICD10CM"]

# Overlaps the definition intends (docs/phenotype.md, value sets): a code may sit in both sets of a pair.
INTENDED_OVERLAPS = {
    frozenset({"cramp", "nocturnal_cramp"}),  # G47.62 is a cramp and a nocturnal one
    frozenset({"cramp", "dehydration_heat"}),  # T67.2 heat cramp is a cramp and a heat effect
    frozenset({"pad", "claudication"}),  # I70.21 claudication sets pad and the mimic
    frozenset({"neuropathy", "pregnancy"}),  # O26.82 pregnancy related peripheral neuritis
    frozenset({"diabetes", "diabetic_neuropathy"}),  # E1x.4x is diabetes with neuropathy
    frozenset({"diabetes", "pad"}),  # E1x.51 / E1x.52 diabetic peripheral angiopathy is PAD in a diabetic
}


def _key(code: str) -> str:
    # str.replace, not icd.remove_dot: the latter validates each code and takes minutes over the whole list
    return code.replace(".", "").upper()


@pytest.fixture(scope="module")
def icd_codes() -> set[str]:
    return {_key(code) for code in icd.get_all_codes(with_dots=True)}


def test_value_set_file_is_well_formed() -> None:
    assert ROWS, "value_sets.csv is empty"
    for row in ROWS:
        assert row["code_system"] in {"ICD10CM", "SNOMED", "LOINC", "RXNORM"}, row
        assert row["match"] in {"exact", "prefix"}, row
        assert row["verified"] in {"true", "false"}, row
        if row["code_system"] != "ICD10CM":
            assert row["match"] == "exact", f"only ICD-10-CM entries may be prefixes: {row}"
    keys = [(row["value_set"], row["code_system"], row["code"]) for row in ROWS]
    assert len(keys) == len(set(keys)), "duplicate value-set entries"


@pytest.mark.parametrize("row", ICD_ROWS, ids=lambda row: f"{row['value_set']}:{row['code']}")
def test_icd10cm_entry_exists(row: dict[str, str]) -> None:
    assert icd.is_valid_item(row["code"]), f"{row['code']} is not in the FY2026 ICD-10-CM tabular list"
    assert "." in row["code"] or len(row["code"]) == 3, "ICD-10-CM codes are written with the dot"


@pytest.mark.parametrize(
    "row", [r for r in ICD_ROWS if r["match"] == "prefix"], ids=lambda row: f"{row['value_set']}:{row['code']}"
)
def test_prefix_matches_billable_codes(row: dict[str, str], icd_codes: set[str]) -> None:
    prefix = _key(row["code"])
    assert any(code.startswith(prefix) for code in icd_codes)


def test_exact_entries_are_leaves_or_prefixes() -> None:
    # an exact entry on a category with children would silently miss every child code
    problems = [row["code"] for row in ICD_ROWS if row["match"] == "exact" and not icd.is_leaf(row["code"])]
    assert problems == []


def test_no_unintended_overlap(icd_codes: set[str]) -> None:
    sets_per_code: dict[str, set[str]] = defaultdict(set)
    for row in ICD_ROWS:
        prefix = _key(row["code"])
        matched = {c for c in icd_codes if c.startswith(prefix)} if row["match"] == "prefix" else {prefix}
        for code in matched:
            sets_per_code[code].add(row["value_set"])
    for row in ROWS:
        if row["code_system"] != "ICD10CM":
            sets_per_code[f"{row['code_system']}:{row['code']}"].add(row["value_set"])
    overlaps = {frozenset(sets) for sets in sets_per_code.values() if len(sets) > 1}
    unintended = {pair for pair in overlaps if pair not in INTENDED_OVERLAPS}
    assert unintended == set()


def test_no_entry_covers_another_of_its_value_set() -> None:
    # condition_matches.sql relies on this to match each condition to a value set at most once
    keys: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in ROWS:
        key = _key(row["code"]) if row["code_system"] == "ICD10CM" else row["code"]
        keys[f"{row['value_set']}|{row['code_system']}"].append((key, row["match"]))
    covered = [
        (value_set, inner)
        for value_set, entries in keys.items()
        for outer, match in entries
        for inner, _ in entries
        if inner != outer and match == "prefix" and inner.startswith(outer)
    ]
    duplicates = [value_set for value_set, entries in keys.items() if len(entries) != len(set(entries))]
    assert (covered, duplicates) == ([], [])


def test_gestation_weeks_seed_matches_its_codes() -> None:
    rows = list(csv.DictReader((SEEDS_DIR / "gestation_weeks.csv").open(newline="")))
    assert rows
    for row in rows:
        assert icd.is_valid_item(row["code"]) and icd.is_leaf(row["code"]), row
        digits = int(row["code"].split(".")[1])
        expected = {0: 0, 1: 0, 49: 42}.get(digits, digits)
        assert int(row["weeks"]) == expected, row


def test_seed_files_have_no_blank_lines() -> None:
    for path in Path(SEEDS_DIR).glob("*.csv"):
        lines = path.read_text().splitlines()
        assert all(line.strip() for line in lines), path.name


def _seed(name: str) -> list[dict[str, str]]:
    with (SEEDS_DIR / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_flag_rules_refer_to_known_value_sets_windows_and_flags() -> None:
    from pipelines.cohort.checks import FLAG_COLUMNS

    value_sets = {row["value_set"] for row in ROWS}
    rules = _seed("flag_rules")
    flags = {row["flag"] for row in rules}
    for row in rules:
        # the SQL knows exactly these windows and age rules: anything else would silently never match
        assert row["window"] in {"acute", "chronic", "lifelong"}, row
        assert row["age_rule"] in {"", "pediatric"}, row
        assert row["value_set"] in value_sets, row
        assert row["flag"] in FLAG_COLUMNS, row
        assert row["requires_flag"] == "" or row["requires_flag"] in flags, row


def test_lab_seeds_refer_to_lab_value_sets() -> None:
    loinc_sets = {row["value_set"] for row in ROWS if row["code_system"] == "LOINC"}
    units = _seed("lab_units")
    assert {row["measure"] for row in units} | {row["measure"] for row in _seed("lab_text_values")} == loinc_sets
    for row in units:
        assert row["unit"] == row["unit"].strip().lower(), f"units are listed trimmed and lower-case: {row}"
        assert float(row["factor_to_canonical"]) > 0
    canonical = {(row["measure"], row["canonical_unit"]) for row in units}
    assert len(canonical) == len({measure for measure, _ in canonical}), "one canonical unit per measure"
    # the canonical unit itself converts with factor 1
    factors = {(row["measure"], row["unit"]): float(row["factor_to_canonical"]) for row in units}
    for measure, unit in canonical:
        assert factors[(measure, unit.lower())] == 1, measure


def _in_o09_o48(code: str) -> bool:
    return code.startswith("O") and code[1:3].isdigit() and 9 <= int(code[1:3]) <= 48


def _entries(value_set: str) -> set[tuple[str, str]]:
    return {(row["code"], row["match"]) for row in ICD_ROWS if row["value_set"] == value_set}


def test_o09_o48_split_matches_the_icd10cm_titles() -> None:
    """The childbirth / puerperium codes of O09-O48, re-derived from the FY2026 titles: they end a pregnancy
    (exact codes of pregnancy_outcome) and pregnancy covers every other code of O09-O48, nothing more."""
    outcome = {code for code, match in _entries("pregnancy_outcome") if _in_o09_o48(code)}
    assert all(match == "exact" for code, match in _entries("pregnancy_outcome") if _in_o09_o48(code))
    assert sorted(outcome) == outcome_codes()
    assert len(outcome) > 50
    pregnancy = sorted(entry for entry in _entries("pregnancy") if _in_o09_o48(entry[0]))
    assert pregnancy == pregnancy_entries()


def test_pregnancy_and_outcome_share_no_code(icd_codes: set[str]) -> None:
    by_category: dict[str, list[str]] = defaultdict(list)
    for code in icd_codes:
        by_category[code[:3]].append(code)

    def covered(value_set: str) -> set[str]:
        out: set[str] = set()
        for code, match in _entries(value_set):
            key = _key(code)
            out |= {c for c in by_category[key[:3]] if c.startswith(key)} if match == "prefix" else {key}
        return out

    assert covered("pregnancy") & covered("pregnancy_outcome") == set()
    for code in ("O24.430", "O13.5", "O10.02", "O26.63"):  # puerperium / childbirth: end, never start
        assert _key(code) in covered("pregnancy_outcome") - covered("pregnancy"), code
    for code in ("O24.410", "O13.3", "O26.821", "O48.0"):  # in pregnancy: start
        assert _key(code) in covered("pregnancy") - covered("pregnancy_outcome"), code
    for code in ("O62.2", "O70.0", "O75.9"):  # labor and delivery complications: neither
        assert _key(code) not in covered("pregnancy") | covered("pregnancy_outcome"), code


# Membership the clinical review asked for (code -> value sets it must / must not be in).
MEMBERSHIP = {
    "T67.2XXA": ({"cramp", "dehydration_heat"}, set()),
    "T67.2XXD": ({"dehydration_heat"}, {"cramp"}),
    "T67.2XXS": ({"dehydration_heat"}, {"cramp"}),
    "E11.43": ({"diabetes"}, {"diabetic_neuropathy", "neuropathy"}),
    "E11.42": ({"diabetes", "diabetic_neuropathy"}, set()),
    "E11.610": ({"diabetes", "diabetic_neuropathy"}, set()),
    "E11.51": ({"diabetes", "pad"}, set()),
    "E13.52": ({"diabetes", "pad"}, set()),
    "I70.311": ({"pad", "claudication"}, set()),
    "I70.711": ({"pad", "claudication"}, set()),
    "M48.062": ({"neurogenic_claudication"}, {"pad", "claudication"}),
    "E20.9": ({"hypoparathyroidism"}, {"hypocalcemia"}),
    "E20.810": ({"hypoparathyroidism"}, set()),
    "E89.2": ({"hypoparathyroidism"}, set()),
    "E61.2": ({"hypomagnesemia"}, set()),
    "G47.61": ({"restless_legs"}, {"cramp", "nocturnal_cramp"}),
    "G57.51": ({"neuropathy"}, set()),
    "Z33.2": ({"pregnancy_outcome"}, {"pregnancy"}),
    "Z39.2": ({"pregnancy_outcome"}, {"pregnancy"}),
    "Z32.01": ({"pregnancy"}, set()),
    "R61": ({"dehydration_heat"}, set()),
    "I87.011": ({"venous_stasis_edema"}, set()),
    "E89.0": ({"thyroid_disease"}, set()),
}


@pytest.mark.parametrize("code", sorted(MEMBERSHIP))
def test_reviewed_codes_are_in_the_right_value_sets(code: str) -> None:
    must, must_not = MEMBERSHIP[code]
    key = _key(code)
    sets = {
        row["value_set"]
        for row in ICD_ROWS
        if key == _key(row["code"]) or (row["match"] == "prefix" and key.startswith(_key(row["code"])))
    }
    assert must <= sets and not (must_not & sets), sets


def test_unverified_lab_codes_say_so() -> None:
    # LOINC codes taken from public code rather than a LOINC release carry verified = false
    unverified = {"1994-3", "1995-0", "17863-2", "2000-8", "61151-7", "61152-5", "19080-1", "21198-7", "2106-3"}
    verified = {row["code"]: row["verified"] for row in ROWS if row["code_system"] == "LOINC"}
    assert unverified <= set(verified)
    assert {code for code in unverified if verified[code] != "false"} == set()
