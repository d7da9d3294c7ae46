"""Which SYSTEM labels of conditions and procedures name which code system.

The project's labels are the seed `sql/seeds/code_systems.csv`: a blank SYSTEM (SNOMED CT, as Synthea writes it),
`SNOMED-CT`, `http://snomed.info/sct`, `ICD-10-CM` and `http://hl7.org/fhir/sid/icd-10-cm`. Any other label
matches no value set. A site whose extracts label a code system otherwise (`SCT`, `ICD10CM`, ...) maps its own
labels in a file of the same layout, named by the `code_system_map_file` setting; its bytes enter the phenotype
version, because a mapping changes which rows match. A site file only adds labels: it cannot remap one of the
project's, nor name a system the value sets do not use. `ICD-10` (WHO ICD-10) is deliberately not mapped: it
differs from ICD-10-CM below the category level.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from pipelines import SQL_DIR

PROJECT_MAP_FILE = SQL_DIR / "seeds" / "code_systems.csv"
COLUMNS = ("source_system", "code_system", "note")
CONDITION_SYSTEMS = ("SNOMED", "ICD10CM")  # the systems condition value sets are written in
# Unicode White_Space, as staging's clean_text() removes it (sql/staging/_macros.sql)
_SPACE = "[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_EDGE_SPACE = re.compile(f"^{_SPACE}+|{_SPACE}+$")


class CodeSystemMapError(ValueError):
    """A site code-system map that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class CodeSystemLabel:
    source_system: str  # label as staging compares it: trimmed, upper-case ('' = blank or missing)
    code_system: str  # SNOMED / ICD10CM
    origin: str  # project / site
    note: str


def normalize_label(label: str) -> str:
    """A SYSTEM label as staging compares it (`system_label()` in sql/staging/_macros.sql)."""
    return _EDGE_SPACE.sub("", label).upper()


def _read(path: Path, origin: str) -> list[CodeSystemLabel]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != COLUMNS:
                raise CodeSystemMapError(f"{path}: header must be {','.join(COLUMNS)}, got {reader.fieldnames}")
            rows = [(line, row) for line, row in enumerate(reader, start=2)]
    except (OSError, UnicodeDecodeError) as exc:
        raise CodeSystemMapError(f"{path}: {exc}") from exc
    labels = []
    for line, row in rows:
        system = (row["code_system"] or "").strip().upper()
        if system not in CONDITION_SYSTEMS:
            raise CodeSystemMapError(
                f"{path} line {line}: code_system must be one of {', '.join(CONDITION_SYSTEMS)}, got {system!r}"
            )
        labels.append(CodeSystemLabel(normalize_label(row["source_system"] or ""), system, origin, row["note"] or ""))
    return labels


def code_system_labels(site_file: Path | None = None) -> list[CodeSystemLabel]:
    """The project's labels, then the site's (validated: no label twice, none remapped)."""
    labels = _read(PROJECT_MAP_FILE, "project")
    if site_file is not None:
        known = {label.source_system: label for label in labels}
        for label in _read(Path(site_file), "site"):
            if label.source_system == "":
                raise CodeSystemMapError(f"{site_file}: a blank SYSTEM already means SNOMED CT")
            if label.source_system in known:
                raise CodeSystemMapError(
                    f"{site_file}: label {label.source_system!r} is already mapped "
                    f"({known[label.source_system].origin}: {known[label.source_system].code_system})"
                )
            known[label.source_system] = label
            labels.append(label)
    return labels


def site_map_bytes(site_file: Path | None) -> bytes:
    """The site file's bytes for the phenotype version (b'' without one)."""
    return Path(site_file).read_bytes() if site_file is not None else b""
