"""The input contract (shared spec input.md) as data: files, columns, required columns, natural keys."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FileLayout:
    name: str  # table name, e.g. "conditions"; the file is f"{name}.csv"
    columns: tuple[str, ...]  # Synthea 3.x order and spelling
    required_columns: tuple[str, ...]  # the pipeline stops the batch when one is missing
    natural_key: tuple[str, ...]  # staging column names
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
            ("patient_id",),
            True,
        ),
        FileLayout(
            "encounters",
            _cols(
                "Id START STOP PATIENT ORGANIZATION PROVIDER PAYER ENCOUNTERCLASS CODE DESCRIPTION "
                "BASE_ENCOUNTER_COST TOTAL_CLAIM_COST PAYER_COVERAGE REASONCODE REASONDESCRIPTION"
            ),
            _cols("Id START STOP PATIENT"),
            ("encounter_id",),
            True,
        ),
        FileLayout(
            "conditions",
            _cols("START STOP PATIENT ENCOUNTER SYSTEM CODE DESCRIPTION"),
            # SYSTEM is optional: older Synthea files have none, which means SNOMED CT.
            _cols("START STOP PATIENT ENCOUNTER CODE"),
            ("patient_id", "encounter_id", "code_system", "code", "start_date"),
            True,
        ),
        FileLayout(
            "observations",
            _cols("DATE PATIENT ENCOUNTER CATEGORY CODE DESCRIPTION VALUE UNITS TYPE"),
            _cols("DATE PATIENT ENCOUNTER CODE VALUE UNITS"),
            ("patient_id", "encounter_id", "code", "observed_at"),
            True,
        ),
        FileLayout(
            "medications",
            _cols(
                "START STOP PATIENT PAYER ENCOUNTER CODE DESCRIPTION BASE_COST PAYER_COVERAGE DISPENSES "
                "TOTALCOST REASONCODE REASONDESCRIPTION"
            ),
            _cols("START STOP PATIENT ENCOUNTER CODE"),
            ("patient_id", "encounter_id", "code", "started_at"),
            False,
        ),
        FileLayout(
            "procedures",
            _cols("START STOP PATIENT ENCOUNTER SYSTEM CODE DESCRIPTION BASE_COST REASONCODE REASONDESCRIPTION"),
            _cols("START PATIENT ENCOUNTER CODE"),
            ("patient_id", "encounter_id", "code_system", "code", "started_at"),
            False,
        ),
    )
}
