"""Which patients a build covers: the seam for incremental batches.

The staging build and the phenotype models take a `Scope`. Today every caller passes `ALL_PATIENTS` and every
table is rebuilt whole; processing a batch incrementally will pass the set of patients the batch touches (a table of
`patient_id`, ingest/affected.py), recompute their rows and swap them in, through the same functions. The phenotype
models can build for some patients already (cohort/models.py); the staging build cannot yet.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """Every patient (`patients` None), or the patients of a table with a `patient_id` column."""

    patients: str | None = None  # a qualified table (`temp.<name>` for a temp table) with a patient_id column


ALL_PATIENTS = Scope()
