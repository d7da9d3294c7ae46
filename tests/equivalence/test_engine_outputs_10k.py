"""The pipeline on the Spark engine gives the outputs of the DuckDB engine on a 10,000-patient generated extract.

Two batches (the second re-delivers rows of the first), 1 % defect rows, run end to end by `cramp-cohort run` on
each engine; every output table of the two DuckDB files must be equal, row for row (tests/equivalence/outputs.py).
A generated population reaches code paths the sample and the vignettes do not (ties, many episodes per patient,
defects of every kind): this comparison found the pregnancy-episode numbering tie that the smaller cases missed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.equivalence.outputs import ROOT, build, differences, fingerprint, missing_spark_tables


def test_spark_engine_outputs_equal_duckdb_on_a_10k_patient_extract(tmp_path: Path) -> None:
    extract = tmp_path / "extract"
    subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "generate", "--patients", "10000", "--batches", "2",
         "--defects", "0.01", "--out", str(extract)],
        check=True, cwd=ROOT, capture_output=True,
    )
    on_duckdb = build(f"landing:{extract}", tmp_path / "duckdb")
    on_spark = build(f"landing:{extract}", tmp_path / "spark", engine="spark")
    assert missing_spark_tables(tmp_path / "spark" / "spark") == []
    assert differences(fingerprint(on_duckdb), fingerprint(on_spark)) == []
