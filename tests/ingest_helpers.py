"""Helpers for ingest tests: write small extracts, materialize the real ingest assets into a DuckDB file."""

from __future__ import annotations

import csv
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.contract.suites import load_suites
from pipelines.contract.synthea import LAYOUTS
from pipelines.orchestration.assets import ingest
from pipelines.orchestration.assets.quality import build_quality_checks
from pipelines.orchestration.assets.reports import build_data_quality_report
from tests.harness import materialize_batch

INGEST_ASSETS = ingest.ingest_assets


def quality_defs(suites_dir: Path) -> dg.Definitions:
    """The suites' asset checks on the staging assets and the data-quality report asset, as the job has them."""
    return dg.Definitions(
        asset_checks=build_quality_checks(suites_dir),
        assets=[build_data_quality_report(sorted(load_suites(suites_dir)))],
    )


def write_table(folder: Path, name: str, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    """Writes <name>.csv with the layout's columns (or the given ones); missing values are empty."""
    folder.mkdir(parents=True, exist_ok=True)
    columns = columns or list(LAYOUTS[name].columns)
    path = folder / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns])
    return path


def materialize_ingest(
    db_path: Path,
    source_dir: Path,
    batch_id: str,
    instance: dg.DagsterInstance | None = None,
    *,
    max_quarantine_share: float = 0.2,
) -> dg.ExecuteInProcessResult:
    """The ingest assets for one batch folder. Tests whose tiny files are mostly defects on purpose raise
    `max_quarantine_share` (the default is the setting's)."""
    return materialize_batch(
        INGEST_ASSETS, db_path, source_dir, batch_id, instance=instance, max_quarantine_share=max_quarantine_share
    )


def query(db_path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def base_patients() -> list[dict[str, str]]:
    return [
        {"Id": "p1", "BIRTHDATE": "1950-01-01", "GENDER": "F", "FIRST": "Ann", "SSN": "999-00-0001"},
        {"Id": "p2", "BIRTHDATE": "1980-06-15", "DEATHDATE": "2024-01-01", "GENDER": "M"},
    ]


def base_encounters() -> list[dict[str, str]]:
    return [
        {"Id": "e1", "START": "2024-03-01T10:00:00Z", "STOP": "2024-03-01T11:00:00Z", "PATIENT": "p1"},
        {"Id": "e2", "START": "2023-05-01T10:00:00Z", "STOP": "2023-05-01T11:00:00Z", "PATIENT": "p2"},
    ]
