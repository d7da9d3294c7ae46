"""The dashboard at the cohort sizes readers have: a 300-patient cohort gets a new-patients chart (rolled up from
months that are nearly all hidden), a 20-patient cohort gets a note instead of an empty chart, and care gaps are
named in clinical words."""

import json
import re

import duckdb
import pytest
from browser import CHROMIUM, ensure_chromium
from dashboard_probe import PROBE
from marts_synthetic import build_warehouse
from page_actions import Eval, drive_page

from pipelines import SQL_DIR
from pipelines.contract.care_gaps import CARE_GAPS
from pipelines.marts.build import build_marts
from pipelines.reports.dashboard import write_dashboard


@pytest.fixture(scope="module")
def chromium():
    reason = ensure_chromium()
    if reason:
        pytest.skip(reason)
    return CHROMIUM


def _dashboard(tmp_path, patients: int, seed: int, cohort_share: float = 0.7):
    db = tmp_path / "warehouse.duckdb"
    build_warehouse(db, patients=patients, seed=seed, cohort_share=cohort_share)
    with duckdb.connect(str(db)) as con:
        build_marts(con, run_id="r", batch_id="b")
        page = write_dashboard(con, tmp_path / "reports")
        months = con.execute(
            "select count(*), count_if(new_cramp_patients_suppressed) from marts.cohort_monthly"
        ).fetchone()
        periods = con.execute(
            "select any_value(grain), count_if(not new_cramp_patients_suppressed), sum(new_cramp_patients), "
            "(select patients from marts.attrition where step_number = 2) from marts.cohort_periods"
        ).fetchone()
    report = drive_page(page, [Eval("probe", PROBE)])
    assert report.errors == [] and report.csp_violations == [] and report.requests == [page.resolve().as_uri()]
    charts = {c["name"]: c for c in json.loads(report.values["probe"])["charts"]}
    return charts, months, periods


def test_a_300_patient_cohort_shows_a_rolled_up_new_patients_chart(tmp_path, chromium):
    charts, (months, hidden_months), (grain, shown_periods, new_patients, cohort) = _dashboard(tmp_path, 430, 5)
    assert 250 <= cohort <= 350
    assert hidden_months >= months / 2  # by month the chart would be mostly "<11"
    chart = charts["new_patients"]
    assert grain in ("quarter", "year") and chart["title"] == f"New cramp patients per {grain}"
    assert not chart["empty"] and chart["published"] == shown_periods > 0
    assert f"Shown by {grain}" in chart["note"]
    assert new_patients == cohort  # nothing hidden: every period published adds up to the cohort


def test_a_20_patient_cohort_says_why_there_is_no_chart(tmp_path, chromium):
    charts, _, (_, shown_periods, _, cohort) = _dashboard(tmp_path, 60, 3, cohort_share=0.35)
    assert cohort is None or cohort <= 30
    assert shown_periods == 0
    chart = charts["new_patients"]
    assert chart["empty"] and chart["published"] == 0
    assert "small-cell rule" in chart["note"] and chart["table"]


def test_every_care_gap_has_clinical_words():
    # the gaps sql/cohort/care_gaps.sql can open, each with a label and the condition in words
    opened = set(re.findall(r"'([a-z_]+)' as gap", (SQL_DIR / "cohort" / "care_gaps.sql").read_text()))
    assert opened and opened == set(CARE_GAPS)
    for gap in CARE_GAPS.values():
        assert gap.label and gap.opens_when and "_" not in gap.label


def test_data_quality_per_batch_separates_blocking_checks_from_warnings(tmp_path):
    # named as the command line names them: checks_failed (blocking) and warnings
    db = tmp_path / "warehouse.duckdb"
    build_warehouse(db, patients=200, seed=9)
    with duckdb.connect(str(db)) as con:
        build_marts(con, run_id="r", batch_id="b")
        page = write_dashboard(con, tmp_path / "reports").read_text()
        mart = con.execute(
            "select source_batch_id, error_checks_failed, warn_checks_failed from marts.dq_batch_summary "
            "order by source_batch_id"
        ).fetchall()
    table = re.search(r'<table id="dq-table">(.*?)</table>', page, re.S).group(1)
    headers = re.findall(r"<th>(.*?)</th>", table)
    assert headers[-2:] == ["Blocking checks failed", "Warnings"]
    rows = [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]
    assert mart and [(r[0], int(r[-2]), int(r[-1])) for r in rows] == mart
