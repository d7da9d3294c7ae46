"""End to end: the pipeline run over the committed generated sample reproduces the generator's ground truth.

The truth (`data_samples/synthea_sample/_truth/`) is computed by the generator from what it planted, by the
spec's rules, independently of the pipeline's SQL; this test runs the real Dagster job per batch into a
DuckDB file in tmp_path and compares flags, care gaps, quarantine, reconciliation and staging counts.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from pipelines import PROJECT_ROOT
from pipelines.automation.summary import format_outcome_line
from pipelines.generate import read_truth
from pipelines.runner import run_batch
from pipelines.settings import Settings

SAMPLE = PROJECT_ROOT / "data_samples" / "synthea_sample"
QUARANTINE_FATES = ("superseded", "staged_excluded")  # the other expected fates are quarantine reason codes


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample_run")
    settings = Settings.load(
        db_path=root / "warehouse.duckdb",
        reports_dir=root / "reports",
        published_dir=root / "published",
        runs_dir=root / "runs",
        key_file=root / "hmac.key",
    )
    instance = dg.DagsterInstance.ephemeral()
    for batch_dir in sorted(d for d in SAMPLE.iterdir() if d.is_dir() and not d.name.startswith("_")):
        outcome = run_batch(batch_dir, settings=settings, instance=instance)
        assert outcome.success, format_outcome_line(outcome)
    return settings.db_path


def _query(db: Path, sql: str) -> pl.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def test_patient_flags_match_the_truth(warehouse: Path) -> None:
    truth = read_truth(SAMPLE)["patient_flags"]
    columns = [c for c in truth.columns if c != "scenario"]
    got = _query(warehouse, f"select {', '.join(columns)} from cohort.patient_flags order by patient_id")
    assert got.height == truth.height > 0
    expected = truth.select(columns).sort("patient_id")
    for column in columns:
        mismatched = expected.with_columns(got[column].alias("_got")).filter(
            pl.col(column).cast(pl.String) != pl.col("_got").cast(pl.String)
        )
        assert mismatched.height == 0, (column, mismatched.head())


def test_care_gaps_match_the_truth(warehouse: Path) -> None:
    truth = read_truth(SAMPLE)["care_gaps"].sort("patient_id", "gap")
    got = _query(warehouse, "select patient_id, gap from cohort.care_gaps order by patient_id, gap")
    assert got.rows() == truth.rows()


def test_quarantine_matches_the_planted_defects(warehouse: Path) -> None:
    expected = (
        read_truth(SAMPLE)["defects"]
        .filter(~pl.col("expected_fate").is_in(QUARANTINE_FATES))
        .select("batch_id", "source_file", "source_line", pl.col("expected_fate").alias("reason_code"))
        .sort("batch_id", "source_file", "source_line")
    )
    got = _query(
        warehouse,
        "select batch_id, source_file, source_line, reason_code from quarantine.rows "
        "order by batch_id, source_file, source_line",
    )
    assert expected.height > 0
    assert got.rows() == expected.rows()


def test_reconciliation_and_staging_counts_match(warehouse: Path) -> None:
    counts = read_truth(SAMPLE)["expected_counts"]
    got = _query(
        warehouse,
        "select batch_id, source_file, rows_read, rows_loaded, rows_quarantined, rows_superseded "
        "from dq.batch_reconciliation order by batch_id, source_file",
    )
    expected = (
        counts.filter(pl.col("batch_id") != "ALL")
        .select(
            "batch_id",
            "source_file",
            pl.col("rows_written").alias("rows_read"),
            "rows_loaded",
            "rows_quarantined",
            "rows_superseded",
        )
        .sort("batch_id", "source_file")
    )
    assert got.rows() == expected.rows()
    for row in counts.filter(pl.col("batch_id") == "ALL").iter_rows(named=True):
        table = row["source_file"].removesuffix(".csv")
        staged = _query(warehouse, f"select count(*) as n from staging.{table}")["n"].item()
        assert staged == row["rows_in_staging"], table
