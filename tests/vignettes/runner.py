"""Runs the real ingest + cohort assets (and their checks) over one batch folder, as one Dagster run."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.orchestration.assets import cohort, ingest
from tests.harness import materialize_batch

VIGNETTES = Path(__file__).parent
BATCH_ID = "2024-12-01"


def materialize_extract(
    db_path: Path, source_dir: Path, code_system_map_file: Path | None = None
) -> dg.ExecuteInProcessResult:
    """Ingest + cohort assets and checks over one batch folder (default: the vignettes), as one Dagster run."""
    return materialize_batch(
        [*ingest.ingest_assets, *cohort.cohort_assets.values(), *cohort.cohort_checks],
        db_path,
        source_dir,
        BATCH_ID,
        landing_dir=db_path.parent / "landing",
        code_system_map_file=str(code_system_map_file or ""),
    )
