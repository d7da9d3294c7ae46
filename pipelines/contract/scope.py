"""Which patients a build covers: the seam for incremental batches.

The staging build and the phenotype models take a `Scope`: every patient (a full build), or the patients a batch
can change (an incremental build, ingest/affected.py). A scoped build recomputes those patients' rows with the
same SQL and swaps them in; every other row stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

SCOPE_TABLE = "raw._affected_patients"  # (batch_id, patient_id), written by ingest/affected.py

FULL = "full"
INCREMENTAL = "incremental"


@dataclass(frozen=True)
class Scope:
    """Every patient (`batch_id` None), or the patients batch `batch_id` can change."""

    batch_id: str | None = None

    @property
    def is_full(self) -> bool:
        return self.batch_id is None

    def patients_query(self, catalog: str | None = None) -> str:
        """A select of the scope's patient ids (column patient_id, distinct); `catalog` names the warehouse's
        database when the query runs from another one."""
        if self.batch_id is None:
            raise ValueError("every patient is in a full scope: there is no list")
        batch = self.batch_id.replace("'", "''")
        table = f'"{catalog}".{SCOPE_TABLE}' if catalog else SCOPE_TABLE
        return f"select distinct patient_id from {table} where batch_id = '{batch}'"


ALL_PATIENTS = Scope()
