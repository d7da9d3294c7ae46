"""The care gaps of `cohort.care_gaps` in clinical words, declared once in `sql/cohort/care_gaps.csv` (gap, label,
when it opens). `sql/cohort/care_gaps.sql` decides when a gap is open; this file says it for readers (dashboard)."""

from __future__ import annotations

import csv
from dataclasses import dataclass

from pipelines import SQL_DIR

CARE_GAP_FILE = SQL_DIR / "cohort" / "care_gaps.csv"


@dataclass(frozen=True)
class CareGap:
    name: str
    label: str  # "Calcium not checked"
    opens_when: str  # the indication and the missing test, in words


def _read() -> dict[str, CareGap]:
    with CARE_GAP_FILE.open(newline="") as handle:
        return {row["gap"]: CareGap(row["gap"], row["label"], row["opens_when"]) for row in csv.DictReader(handle)}


CARE_GAPS: dict[str, CareGap] = _read()


def care_gap(name: str) -> CareGap:
    """The gap's words; an id missing from the catalogue is shown as itself (a new gap before its wording)."""
    return CARE_GAPS.get(name, CareGap(name, name.replace("_", " ").capitalize(), ""))
