"""The flags of `cohort.patient_flags`, declared once in `sql/cohort/flags.csv` (flag, group, label).

Everything else derives from that file: the flag columns of `cohort.patient_flags` (rendered into its SQL), the
evidence check, the version diff, the marts' flag catalogue and the dashboard labels. The groups decide the column
order and what counts as a risk factor: primary and secondary flags are risk factors, cramp patterns, neuropathy
detail and mimics are not. Which diagnosis sets which flag is clinical data, in `sql/seeds/flag_rules.csv`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

from pipelines import SQL_DIR

CATALOG_FILE = SQL_DIR / "cohort" / "flags.csv"
# Column order of cohort.patient_flags, by group (age and sex sit after the cramp patterns).
COLUMN_GROUPS = ("cramp_pattern", "primary", "secondary", "neuropathy_detail", "mimic")
RISK_FACTOR_GROUPS = ("primary", "secondary")


@dataclass(frozen=True)
class Flag:
    name: str
    group: str  # summary / primary / secondary / neuropathy_detail / cramp_pattern / mimic
    label: str  # for readers (dashboard, definition page)


def _read_catalog() -> tuple[Flag, ...]:
    with CATALOG_FILE.open(newline="") as handle:
        return tuple(Flag(row["flag"], row["flag_group"], row["label"]) for row in csv.DictReader(handle))


CATALOG: tuple[Flag, ...] = _read_catalog()


def _group(name: str) -> tuple[str, ...]:
    return tuple(flag.name for flag in CATALOG if flag.group == name)


PRIMARY_FLAGS = _group("primary")
SECONDARY_FLAGS = _group("secondary")
# Every boolean flag set by evidence, in column order (the summary excluded).
FLAG_COLUMNS: tuple[str, ...] = tuple(name for group in COLUMN_GROUPS for name in _group(group))
# Not risk factors (not counted in risk_factor_count): cramp patterns, neuropathy detail, mimics.
OTHER_FLAGS = tuple(name for name in FLAG_COLUMNS if name not in PRIMARY_FLAGS + SECONDARY_FLAGS)


def patient_flags_sql_params() -> dict[str, str]:
    """The flag columns of `sql/cohort/patient_flags.sql`, rendered from the catalogue."""
    sep = ",\n        "
    patterns = _group("cramp_pattern")
    return {
        "flags_from_evidence": sep.join(f"bool_or(flag = '{name}') as {name}" for name in FLAG_COLUMNS),
        "cramp_pattern_flags": sep.join(f"coalesce(flags.{name}, false) as {name}" for name in patterns),
        "other_flags": sep.join(
            f"coalesce(flags.{name}, false) as {name}" for name in FLAG_COLUMNS if name not in patterns
        ),
        "any_primary_risk": " or ".join(PRIMARY_FLAGS),
        "risk_factor_sum": "\n            + ".join(
            f"{name}::integer" for group in RISK_FACTOR_GROUPS for name in _group(group)
        ),
    }
