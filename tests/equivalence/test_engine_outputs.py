"""The pipeline on the Spark engine gives the outputs of the DuckDB engine, end to end.

`cramp-cohort run` with `CRAMP_COHORT_ENGINE=spark` (Spark `local[2]`) over the bundled sample (two batches, the
second re-delivering rows of the first) and over the clinical vignettes: the reference layer, the staging build,
the validation suites (GX's Spark datasource) and every phenotype model run on Spark, the marts over what Spark
built. Every
output table of the run's DuckDB file (staging, quarantine, dq with the check statuses, ref, intermediate, cohort,
marts) must equal the committed fingerprints of the DuckDB engine (tests/equivalence/golden/), in a canonical row
order, value by value.

The 10,000-patient generated extract: test_engine_outputs_10k.py (a file of its own, so that the two test
processes of `make test` take one each).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.orchestration.assets.marts import LAKE_COPIES, NOT_COPIED
from tests.equivalence.outputs import (
    build,
    differences,
    fingerprint,
    golden_path,
    load,
    missing_spark_tables,
    spark_copy_differences,
)


@pytest.mark.parametrize("case", ["sample", "vignettes"])
def test_spark_engine_outputs_equal_the_duckdb_fingerprints(case: str, tmp_path: Path) -> None:
    db = build(case, tmp_path, engine="spark")
    assert missing_spark_tables(tmp_path / "spark") == [], "staging or the phenotype did not run on Spark"
    problems = differences(load(golden_path(case)), fingerprint(db))
    assert problems == [], f"{case} on Spark differs from DuckDB: {problems}"
    if case == "sample":  # (the vignettes' run stops at the marts' disclosure audit: nothing to copy)
        # the data-quality record and the marts are in the engine's tables too, as the DuckDB file holds them
        assert spark_copy_differences(db, tmp_path / "spark", LAKE_COPIES, NOT_COPIED) == []
