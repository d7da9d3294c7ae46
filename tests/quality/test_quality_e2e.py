"""End to end with the real ingest: a defect-laden extract, GX checks on the staging assets, blocking, report.

Downstream of staging stands a small real asset (`cohort_probe`) so the test does not depend on the phenotype's
progress: what matters here is whether Dagster runs it after the checks.
"""

from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines import EXPECTATIONS_DIR
from pipelines.orchestration.resources import DuckDBWarehouse
from tests.harness import materialize_batch
from tests.ingest_helpers import INGEST_ASSETS, quality_defs

EXTRACT = Path(__file__).parents[1] / "quality_fixtures" / "extract"


@dg.asset(deps=["staging_conditions", "staging_encounters", "staging_observations"], group_name="cohort")
def cohort_probe(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse) -> None:
    """One row per run that reached the phenotype: the staging rows it saw."""
    with warehouse.connect() as con:
        con.execute("create schema if not exists cohort")
        con.execute("create table if not exists cohort.probe (run_id varchar, encounters bigint, observations bigint)")
        con.execute(
            "insert into cohort.probe select ?, (select count(*) from staging.encounters), "
            "(select count(*) from staging.observations)",
            [context.run.run_id],
        )


def _run(tmp_path: Path, batch_id: str, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    quality = quality_defs(EXPECTATIONS_DIR)
    return materialize_batch(
        [*INGEST_ASSETS, *quality.assets, *quality.asset_checks, cohort_probe],
        tmp_path / "warehouse.duckdb",
        EXTRACT / batch_id,
        batch_id,
        instance=instance,
        # Tiny files, a quarter of them defects on purpose: above a real batch's quarantine limit.
        max_quarantine_share=1.0,
    )


def _query(tmp_path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _check_outcomes(result: dg.ExecuteInProcessResult) -> dict[str, tuple[bool, str]]:
    return {e.check_name: (e.passed, e.severity.value) for e in result.get_asset_check_evaluations()}


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[dict[str, str]]] = {}
        self._table: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = attrs.get("id")
            self.rows[self._table] = []
        elif tag == "tr" and self._table and any(k.startswith("data-") for k in attrs):
            self.rows[self._table].append(attrs)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("e2e")
    instance = dg.DagsterInstance.ephemeral()
    first = _run(tmp_path, "2026-01-01", instance)
    probe_after_first = _query(tmp_path, "select encounters, observations from cohort.probe")
    first_report = (tmp_path / "reports" / "data_quality.html").read_text()
    second = _run(tmp_path, "2026-02-01", instance)
    return tmp_path, first, second, probe_after_first, first_report


def test_defect_laden_batch_loads_with_warnings_and_expected_failures(two_runs):
    tmp_path, first, _, probe, _ = two_runs
    assert first.success
    outcomes = _check_outcomes(first)
    failed = {name for name, (passed, _) in outcomes.items() if not passed}
    assert failed == {
        "patients_sex_allowed_values",
        "patients_age_0_120",
        "conditions_code_system_allowed_values",
        "conditions_pregnancy_on_male",
        "observations_lab_unit_known",
        "observations_lab_value_plausible",
    }
    assert all(outcomes[name][1] == "WARN" for name in failed)  # warn checks fail without blocking
    counts = dict(
        _query(
            tmp_path,
            "select check_name, failing_rows from dq.check_results where batch_id = '2026-01-01' and failing_rows > 0",
        )
    )
    assert counts == {
        "patients_sex_allowed_values": 1,
        "patients_age_0_120": 1,
        "encounters_stop_not_before_start": 1,  # 1 of 20: under the 5 % threshold, quarantined
        "conditions_code_system_allowed_values": 1,
        "conditions_pregnancy_on_male": 1,
        "observations_lab_unit_known": 1,
        "observations_lab_value_plausible": 1,
    }
    reasons = _query(
        tmp_path,
        "select source_file, source_line, reason_code, stage from quarantine.rows "
        "where batch_id = '2026-01-01' order by 1, 2",
    )
    assert reasons == [
        ("conditions.csv", 4, "missing_required_field", "staging"),
        ("encounters.csv", 21, "encounters_stop_not_before_start", "validation"),
        ("encounters.csv", 22, "orphan_patient", "staging"),
        ("patients.csv", 6, "future_date", "staging"),
    ]
    # the clean rows flowed downstream: 19 encounters (20 minus the quarantined one), all 4 observations
    assert probe == [(19, 4)]
    balanced = _query(
        tmp_path,
        "select bool_and(rows_read = rows_loaded + rows_quarantined + rows_superseded) from dq.batch_reconciliation",
    )
    assert balanced == [(True,)]
    assert first.asset_materializations_for_node("data_quality_report")


def test_error_check_over_threshold_blocks_downstream_and_keeps_previous_outputs(two_runs):
    tmp_path, _, second, probe_before, _ = two_runs
    assert _check_outcomes(second)["encounters_stop_not_before_start"] == (False, "ERROR")
    materialized = {e.asset_key.to_user_string() for e in second.get_asset_materialization_events()}
    assert "staging_encounters" in materialized
    assert "cohort_probe" not in materialized
    assert "data_quality_report" not in materialized
    assert _query(tmp_path, "select encounters, observations from cohort.probe") == probe_before
    row = _query(
        tmp_path,
        "select status, failing_rows, total_rows, threshold from dq.check_results "
        "where batch_id = '2026-02-01' and check_name = 'encounters_stop_not_before_start'",
    )
    # a batch run measures the rows its batch brought: e1..e10, re-delivered by batch 2 with STOP before START, of
    # the 10 it delivered (batch 1's own bad e20 was measured, and quarantined, in batch 1's run)
    assert row == [("fail", 10, 10, 5.0)]


def test_report_written_by_the_blocked_run_compares_with_the_previous_batch(two_runs):
    tmp_path, _, _, _, first_report = two_runs
    assert 'data-check="patients_sex_allowed_values"' in first_report
    parser = _Tables()
    parser.feed((tmp_path / "reports" / "data_quality.html").read_text())
    new = {r["data-check"] for r in parser.rows["new-failures"]}
    resolved = {r["data-check"] for r in parser.rows["resolved-failures"]}
    assert new == {"encounters_stop_not_before_start"}
    assert resolved == {"patients_sex_allowed_values"}
    assert {r["data-batch"] for r in parser.rows["batch-summary"]} == {"2026-01-01", "2026-02-01"}
    reasons = {r["data-reason"]: int(r["data-rows"]) for r in parser.rows["quarantine"]}
    assert reasons["encounters_stop_not_before_start"] == 11  # 1 line of batch 1 + 10 lines of batch 2
    assert reasons["orphan_patient"] == 1
    assert (tmp_path / "reports" / "gx" / "encounters.html").exists()
    # the blocked run validated patients and encounters only; the report says the rest was not validated
    assert "Not validated in this run" in _report_text(tmp_path)
    assert "conditions, medications, observations, procedures." in _report_text(tmp_path)


def _report_text(tmp_path: Path) -> str:
    return (tmp_path / "reports" / "data_quality.html").read_text()
