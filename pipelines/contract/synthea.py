"""Synthea's CSV export as the pipeline reads it (docs/input.md): the files, their columns in Synthea 3.x order
and spelling, which columns and files a batch must have. The generator writes the same format; the rules that
judge the rows (typing, rejects, natural keys) belong to staging (`sql/staging/`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FileLayout:
    name: str  # table name, e.g. "conditions"; the file is f"{name}.csv"
    columns: tuple[str, ...]  # Synthea 3.x order and spelling
    required_columns: tuple[str, ...]  # the pipeline stops the batch when one is missing
    required_file: bool

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"


def _cols(text: str) -> tuple[str, ...]:
    return tuple(text.replace(",", " ").split())


LAYOUTS: dict[str, FileLayout] = {
    layout.name: layout
    for layout in (
        FileLayout(
            "patients",
            _cols(
                "Id BIRTHDATE DEATHDATE SSN DRIVERS PASSPORT PREFIX FIRST MIDDLE LAST SUFFIX MAIDEN MARITAL "
                "RACE ETHNICITY GENDER BIRTHPLACE ADDRESS CITY STATE COUNTY FIPS ZIP LAT LON "
                "HEALTHCARE_EXPENSES HEALTHCARE_COVERAGE INCOME"
            ),
            _cols("Id BIRTHDATE DEATHDATE GENDER"),
            True,
        ),
        FileLayout(
            "encounters",
            _cols(
                "Id START STOP PATIENT ORGANIZATION PROVIDER PAYER ENCOUNTERCLASS CODE DESCRIPTION "
                "BASE_ENCOUNTER_COST TOTAL_CLAIM_COST PAYER_COVERAGE REASONCODE REASONDESCRIPTION"
            ),
            _cols("Id START STOP PATIENT"),
            True,
        ),
        FileLayout(
            "conditions",
            _cols("START STOP PATIENT ENCOUNTER SYSTEM CODE DESCRIPTION"),
            # SYSTEM is optional: older Synthea files have none, which means SNOMED CT.
            _cols("START STOP PATIENT ENCOUNTER CODE"),
            True,
        ),
        FileLayout(
            "observations",
            _cols("DATE PATIENT ENCOUNTER CATEGORY CODE DESCRIPTION VALUE UNITS TYPE"),
            _cols("DATE PATIENT ENCOUNTER CODE VALUE UNITS"),
            True,
        ),
        FileLayout(
            "medications",
            _cols(
                "START STOP PATIENT PAYER ENCOUNTER CODE DESCRIPTION BASE_COST PAYER_COVERAGE DISPENSES "
                "TOTALCOST REASONCODE REASONDESCRIPTION"
            ),
            _cols("START STOP PATIENT ENCOUNTER CODE"),
            False,
        ),
        FileLayout(
            "procedures",
            _cols("START STOP PATIENT ENCOUNTER SYSTEM CODE DESCRIPTION BASE_COST REASONCODE REASONDESCRIPTION"),
            _cols("START PATIENT ENCOUNTER CODE"),
            False,
        ),
    )
}
