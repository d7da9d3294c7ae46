"""Value-set entries as the seed holds them, with each code's official display and its expansion.

One model for the definition page (entries read from the warehouse's `ref.value_sets`, i.e. the seed the run
loaded) and for the export (entries read from the seed file). ICD-10-CM displays are the official FY2026 titles;
SNOMED CT, LOINC and RxNorm displays are the seed's descriptions (no terminology release is available here).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pipelines.reference import icd10cm

SYSTEM_URIS: dict[str, str] = {
    "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "SNOMED": "http://snomed.info/sct",
    "LOINC": "http://loinc.org",
    "RXNORM": "http://www.nlm.nih.gov/research/umls/rxnorm",
}
SYSTEM_NAMES: dict[str, str] = {
    "ICD10CM": "ICD-10-CM",
    "SNOMED": "SNOMED CT",
    "LOINC": "LOINC",
    "RXNORM": "RxNorm",
}
MATCH_KINDS: dict[str, str] = {
    "exact": "this code only",
    "prefix": "this code and every code below it",
}


class ValueSetError(ValueError):
    """A seed entry the readers' tools cannot express faithfully (unknown code system or match kind, ...)."""


@dataclass(frozen=True)
class Entry:
    value_set: str
    code_system: str
    code: str  # as listed in the seed
    match: str
    description: str  # the seed's description
    verified: bool | None  # None when the seed has no `verified` column

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.value_set, self.code_system, self.code, self.match)

    @property
    def official_title(self) -> str | None:
        """The ICD-10-CM FY2026 title; None for other systems or for a code ICD-10-CM does not have."""
        return icd10cm.title(self.code) if self.code_system == "ICD10CM" else None

    @property
    def display(self) -> str:
        """What a reader sees as the code's name: the official title where there is one, else the seed's text."""
        return self.official_title or self.description


@dataclass(frozen=True)
class Concept:
    """One concrete code of an expanded value set."""

    code_system: str
    code: str
    display: str
    entry: Entry  # the seed entry it comes from


def entries_from_rows(rows: Iterable[Mapping[str, object]]) -> list[Entry]:
    """Entries from seed rows (CSV dicts or warehouse rows), in the seed's order."""
    entries = []
    for row in rows:
        verified = row.get("verified")
        if isinstance(verified, str):
            verified = {"true": True, "false": False}.get(verified.strip().lower())
        entries.append(
            Entry(
                value_set=str(row["value_set"]).strip(),
                code_system=str(row["code_system"]).strip().upper(),
                code=str(row["code"]).strip(),
                match=str(row.get("match") or "exact").strip().lower(),
                description=str(row.get("description") or "").strip(),
                verified=verified if isinstance(verified, bool) else None,
            )
        )
    return entries


def read_seed_entries(seeds_dir: Path) -> list[Entry]:
    with (Path(seeds_dir) / "value_sets.csv").open(newline="", encoding="utf-8") as handle:
        return entries_from_rows(csv.DictReader(handle))


def by_value_set(entries: Iterable[Entry]) -> dict[str, list[Entry]]:
    """Entries grouped per value set, value sets in order of first appearance."""
    grouped: dict[str, list[Entry]] = {}
    for entry in entries:
        grouped.setdefault(entry.value_set, []).append(entry)
    return grouped


def expand(entries: Iterable[Entry]) -> list[Concept]:
    """The concrete codes of `entries`: an ICD-10-CM prefix entry becomes the code and every code below it.

    Codes keep the first entry that listed them (no duplicates). Raises `ValueSetError` for what cannot be
    expanded faithfully: an ICD-10-CM code missing from the FY2026 list, an unknown code system or match kind.
    """
    concepts: dict[tuple[str, str], Concept] = {}
    for entry in entries:
        if entry.code_system not in SYSTEM_URIS:
            raise ValueSetError(f"{entry.value_set}: unknown code system {entry.code_system!r} for {entry.code}")
        if entry.match not in MATCH_KINDS:
            raise ValueSetError(f"{entry.value_set}: unknown match kind {entry.match!r} for {entry.code}")
        if entry.code_system == "ICD10CM":
            if not icd10cm.is_known(entry.code):
                raise ValueSetError(f"{entry.value_set}: {entry.code} is not in the ICD-10-CM FY2026 tabular list")
            codes = icd10cm.codes_under(entry.code) if entry.match == "prefix" else (icd10cm.official_code(entry.code),)
            for code in codes:
                concepts.setdefault(("ICD10CM", code), Concept("ICD10CM", code, icd10cm.title(code) or "", entry))
        else:
            if entry.match == "prefix":
                raise ValueSetError(f"{entry.value_set}: only ICD-10-CM entries may be prefixes ({entry.code})")
            concepts.setdefault(
                (entry.code_system, entry.code), Concept(entry.code_system, entry.code, entry.description, entry)
            )
    return list(concepts.values())
