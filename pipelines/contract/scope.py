"""Which patients a build covers: the seam for incremental batches.

The staging build and the phenotype models take a `Scope`. Today every caller passes `ALL_PATIENTS` and every
table is rebuilt whole; processing a batch incrementally will pass the set of patients the batch touches (a table of
`patient_id`), recompute their rows and swap them in, through the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """Every patient (`patients` None), or the patients of a table with a `patient_id` column."""

    patients: str | None = None

    def __post_init__(self) -> None:
        if self.patients is not None:
            raise ValueError("a build for a set of patients is not supported yet: use ALL_PATIENTS")


ALL_PATIENTS = Scope()
