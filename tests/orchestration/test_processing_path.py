"""Which path a batch run takes (incremental or full) and why, through real runs of the bundled sample's two
batches: the reason reaches the outcome, the run summary and the batch row."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
from run_helpers import SAMPLE, settings_under

from pipelines.operations.summary import format_outcome_line, summary_document
from pipelines.orchestration.runner import run_batch

FIRST, SECOND = "2026-05-31", "2026-06-30"


def _run(settings, batch_id: str, **flags: bool):
    outcome = run_batch(SAMPLE / batch_id, batch_id, settings=settings, **flags)
    assert outcome.success, outcome.reason_line
    return outcome


def _batch_row(settings, batch_id: str) -> tuple[str, str]:
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        return con.execute(
            "select processing_path, processing_reason from raw._batches where batch_id = ?", [batch_id]
        ).fetchone()


def test_first_batch_full_next_incremental_and_full_on_request(tmp_path: Path) -> None:
    settings = settings_under(tmp_path / "w")
    first = _run(settings, FIRST)
    assert first.processing_path == "full"
    assert first.processing_reason == "first build of this warehouse's staging tables"

    second = _run(settings, SECOND)
    assert second.processing_path == "incremental"
    # the sample's second batch re-delivers some patients: they, and only a few others, are rebuilt
    assert 0 < second.patients_in_scope < first.cohort_size * 10
    assert _batch_row(settings, SECOND) == ("incremental", second.processing_reason)
    summary = summary_document(second)  # what the run summary file and the ledger's after-run routine write
    assert summary["processing_path"] == "incremental" and summary["patients_in_scope"] == second.patients_in_scope
    assert format_outcome_line(second).endswith("path=incremental")

    again = _run(settings, SECOND, full=True)
    assert (again.processing_path, again.processing_reason) == ("full", "full rebuild requested")
    assert _batch_row(settings, SECOND) == ("full", "full rebuild requested")


def test_changed_definitions_or_an_unfinished_cohort_take_the_full_path(tmp_path: Path) -> None:
    suites = tmp_path / "expectations"
    shutil.copytree(SAMPLE.parents[1] / "expectations", suites)
    settings = settings_under(tmp_path / "w", expectations_dir=suites)
    _run(settings, FIRST)

    # a suite edited between two batches: the cohort was built under other definitions
    encounters = suites / "encounters.json"
    encounters.write_text(encounters.read_text() + "\n")
    changed = _run(settings, SECOND)
    assert changed.processing_path == "full"
    assert "other definitions" in changed.processing_reason

    # the same definitions again: incremental
    assert _run(settings, SECOND).processing_path == "incremental"

    # a run that accepted its batch but stopped before one cohort asset recorded its build
    with duckdb.connect(str(settings.db_path)) as con:
        con.execute("delete from dq.cohort_builds where asset = 'care_gaps'")
    unfinished = _run(settings, SECOND)
    assert unfinished.processing_path == "full"
    assert unfinished.processing_reason.endswith("care_gaps")
