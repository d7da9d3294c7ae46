"""Generator agreement: on 10,000 generated patients the pipeline's flags equal the generator's ground truth.

The truth (`_truth/patient_flags.csv`, `_truth/care_gaps.csv`) is what the generator planted, scored by the spec's
rules in the generator's own Polars code; the flags here come from the real ingest + cohort assets.
Precision and recall are reported per flag; both must be 1.0.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from vignettes.runner import materialize_extract

from pipelines.cohort.checks import FLAG_COLUMNS
from pipelines.generate import generate_extract, read_truth

PATIENTS = 10_000


@pytest.fixture(scope="module")
def agreement(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, pl.DataFrame, Path]:
    root = tmp_path_factory.mktemp("agreement")
    extract = root / "extract"
    generate_extract(extract, patients=PATIENTS, seed=11, batches=1, defects=0.01)
    db_path = root / "warehouse.duckdb"
    result = materialize_extract(db_path, extract)
    assert result.success
    truth = read_truth(extract)["patient_flags"]
    with duckdb.connect(str(db_path), read_only=True) as con:
        got = con.sql("select * from cohort.patient_flags").pl()
    return truth, got, db_path


def _scores(truth: pl.DataFrame, got: pl.DataFrame, flag: str) -> tuple[int, int, int, float, float]:
    joined = truth.select("patient_id", pl.col(flag).alias("want")).join(
        got.select("patient_id", pl.col(flag).alias("have")), on="patient_id", how="full", coalesce=True
    ).fill_null(False)
    tp = joined.filter(pl.col("want") & pl.col("have")).height
    fp = joined.filter(~pl.col("want") & pl.col("have")).height
    fn = joined.filter(pl.col("want") & ~pl.col("have")).height
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return tp, fp, fn, precision, recall


def test_cohort_is_exactly_the_planted_cramp_patients(agreement) -> None:
    truth, got, _ = agreement
    assert truth.height >= 900  # ~10% of 10,000 patients are planted with cramps
    assert sorted(got["patient_id"]) == sorted(truth["patient_id"])


def test_every_flag_has_precision_and_recall_one(agreement) -> None:
    truth, got, _ = agreement
    report = []
    for flag in (*FLAG_COLUMNS, "any_primary_risk"):
        tp, fp, fn, precision, recall = _scores(truth, got, flag)
        report.append(f"{flag:<22} tp={tp:<5} fp={fp:<4} fn={fn:<4} precision={precision:.3f} recall={recall:.3f}")
        assert tp > 0, f"{flag}: no planted positive in {PATIENTS} patients"
    print("\n" + "\n".join(report))
    failing = [line for line in report if "fp=0 " not in line or "fn=0 " not in line]
    assert not failing, "\n".join(failing)


def test_counts_ages_and_care_gaps_agree(agreement) -> None:
    truth, got, db_path = agreement
    columns = ["patient_id", "index_date", "cramp_events", "age_at_index", "sex", "risk_factor_count"]
    assert got.select(columns).sort("patient_id").rows() == truth.select(columns).sort("patient_id").rows()
    root = db_path.parent / "extract"
    gaps = read_truth(root)["care_gaps"].sort("patient_id", "gap")
    with duckdb.connect(str(db_path), read_only=True) as con:
        have = con.sql("select patient_id, gap from cohort.care_gaps order by patient_id, gap").pl()
    assert gaps.height > 0
    assert have.rows() == gaps.rows()
