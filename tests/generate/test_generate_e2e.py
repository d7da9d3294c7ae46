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
from pipelines.generate import read_truth
from pipelines.operations.summary import format_outcome_line
from pipelines.orchestration.runner import run_batch
from pipelines.settings import Settings

SAMPLE = PROJECT_ROOT / "data_samples" / "synthea_sample"
QUARANTINE_FATES = ("superseded", "staged_excluded")  # the other expected fates are quarantine reason codes


def _run_sample(root: Path, key_file: Path) -> Path:
    """Every batch of the sample, in order, into a fresh warehouse under root; returns the DuckDB file."""
    settings = Settings.load(
        db_path=root / "warehouse.duckdb",
        reports_dir=root / "reports",
        published_dir=root / "published",
        runs_dir=root / "runs",
        key_file=key_file,
    )
    instance = dg.DagsterInstance.ephemeral()
    for batch_dir in sorted(d for d in SAMPLE.iterdir() if d.is_dir() and not d.name.startswith("_")):
        outcome = run_batch(batch_dir, settings=settings, instance=instance)
        assert outcome.success, format_outcome_line(outcome)
    return settings.db_path


@pytest.fixture(scope="module")
def warehouse(sample_warehouse: Path) -> Path:
    """The session's sample warehouse (both batches through the CLI); read only."""
    return sample_warehouse


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


# Columns that name the run itself (its id and the times it built or recorded things): the only ones two runs may
# differ in.
RUN_IDENTITY = {"run_id", "built_at", "recorded_at", "diffed_at"}


def test_two_clean_runs_give_identical_cohort_and_mart_tables(
    warehouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("sample_rerun")
    again = _run_sample(root, warehouse.parent / "hmac.key")  # same key: the same de-identified keys
    con = duckdb.connect()
    try:
        con.execute(f"attach '{warehouse}' as first_run (read_only)")
        con.execute(f"attach '{again}' as second_run (read_only)")
        tables = {
            run: con.execute(
                "select schema_name || '.' || table_name from duckdb_tables() "
                "where database_name = ? and schema_name in ('cohort', 'marts') order by 1",
                [run],
            ).fetchall()
            for run in ("first_run", "second_run")
        }
        assert tables["first_run"] == tables["second_run"]
        assert len(tables["first_run"]) > 15
        differing = {}
        for (table,) in tables["first_run"]:
            schema, name = table.split(".")
            columns = [
                column
                for (column,) in con.execute(
                    "select column_name from duckdb_columns() where database_name = 'first_run' "
                    "and schema_name = ? and table_name = ? order by column_index",
                    [schema, name],
                ).fetchall()
                if column not in RUN_IDENTITY
            ]
            listed = ", ".join(f'"{column}"' for column in columns)
            first, second = f"select {listed} from first_run.{table}", f"select {listed} from second_run.{table}"
            rows = con.execute(
                f"select count(*) from (({first} except all {second}) union all ({second} except all {first}))"
            ).fetchone()[0]
            if rows:
                differing[table] = rows
    finally:
        con.close()
    assert differing == {}
