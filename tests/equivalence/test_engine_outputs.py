"""The pipeline on the Spark engine gives the outputs of the DuckDB engine, end to end.

`cramp-cohort run` with `CRAMP_COHORT_ENGINE=spark` (Spark `local[2]`) over the bundled sample (two batches, the
second re-delivering rows of the first) and over the clinical vignettes: the reference layer, the validation
suites (GX's Spark datasource) and every phenotype model run on Spark, the marts over what Spark built. Every
output table of the run's DuckDB file (staging, quarantine, dq with the check statuses, ref, intermediate, cohort,
marts) must equal the committed fingerprints of the DuckDB engine (tests/equivalence/golden/), in a canonical row
order, value by value.

The 10,000-patient generated extract (two batches) is compared the same way, against a DuckDB run of the same
extract, when `CRAMP_COHORT_TEST_EXTRACT_10K=1` (about 20 minutes on a loaded 2-core machine).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.cohort.models import ASSET_MODELS
from tests.equivalence.outputs import ROOT, build, differences, fingerprint, golden_path, load

PHENOTYPE_TABLES = [table for tables in ASSET_MODELS.values() for table in tables]


def _built_by_spark(spark_dir: Path) -> list[str]:
    """The phenotype tables that have no complete Spark version under the run's warehouse_dir."""
    missing = []
    for table in PHENOTYPE_TABLES:
        schema, name = table.split(".")
        versions = sorted((spark_dir / schema / name).glob("v*"))
        if not versions or not (versions[-1] / "_SUCCESS").exists():
            missing.append(table)
    return missing


@pytest.mark.parametrize("case", ["sample", "vignettes"])
def test_spark_engine_outputs_equal_the_duckdb_fingerprints(case: str, tmp_path: Path) -> None:
    db = build(case, tmp_path, engine="spark")
    assert _built_by_spark(tmp_path / "spark") == [], "the phenotype did not run on Spark"
    problems = differences(load(golden_path(case)), fingerprint(db))
    assert problems == [], f"{case} on Spark differs from DuckDB: {problems}"


@pytest.mark.skipif(
    os.environ.get("CRAMP_COHORT_TEST_EXTRACT_10K") != "1", reason="slow: set CRAMP_COHORT_TEST_EXTRACT_10K=1"
)
def test_spark_engine_outputs_equal_duckdb_on_a_10k_patient_extract(tmp_path: Path) -> None:
    extract = tmp_path / "extract"
    subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "generate", "--patients", "10000", "--batches", "2",
         "--defects", "0.01", "--out", str(extract)],
        check=True, cwd=ROOT, capture_output=True,
    )
    on_duckdb = build(f"landing:{extract}", tmp_path / "duckdb")
    on_spark = build(f"landing:{extract}", tmp_path / "spark", engine="spark")
    assert _built_by_spark(tmp_path / "spark" / "spark") == []
    assert differences(fingerprint(on_duckdb), fingerprint(on_spark)) == []
