"""data_quality.html as a steward works from it: failures first and filterable (a real click in headless Chromium),
DQD categories, checks of an empty table "not applicable", the failing values of a failing check (never ids),
quarantine examples naming their batch, timestamps with a time zone, and a trend chart per check."""

import json
import re
from dataclasses import replace

import duckdb
import pytest
from browser import CHROMIUM, ensure_chromium
from page_actions import Click, Download, Eval, drive_page
from quality_fixtures.staging import TABLE_ORDER, build_staging, seed_reconciliation, validate_table

from pipelines import EXPECTATIONS_DIR
from pipelines.contract.dqd import dqd_place
from pipelines.contract.suites import load_suites
from pipelines.reports.charts import csv_text
from pipelines.reports.data_quality import write_data_quality_report
from pipelines.reports.data_quality_data import collect
from pipelines.reports.dq_charts import check_trend
from pipelines.reports.dq_drilldown import failing_values

VISIBLE = (
    "JSON.stringify([...document.querySelectorAll('#checks > tbody > tr')]"
    ".filter(r => r.getClientRects().length).map(r => r.dataset.status))"
)
COUNT = "document.getElementById('shown-count').textContent"


@pytest.fixture(scope="module")
def chromium():
    reason = ensure_chromium()
    if reason:
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """The fixture staging validated twice (batches b1, b2), medications empty in the second run."""
    tmp_path = tmp_path_factory.mktemp("dq_steward")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    build_staging(con)
    seed_reconciliation(con)
    con.execute(
        "insert into quarantine.rows select _batch_id, 'encounters.csv', _source_line, "
        "'encounters_stop_not_before_start', 'stop before start', to_json(e)::varchar, 'validation', now() "
        "from staging.encounters e where encounter_id = 'e3'"
    )
    suites = load_suites(EXPECTATIONS_DIR)
    for table in TABLE_ORDER:
        validate_table(con, suites[table], "run-1", "b1")
    con.execute("delete from staging.medications")
    for table in TABLE_ORDER:
        validate_table(con, suites[table], "run-2", "b2")
    yield con, tmp_path / "reports"
    con.close()


def test_row_checks_of_an_empty_table_are_not_applicable(warehouse):
    con, _ = warehouse
    statuses = dict(
        con.execute(
            "select check_name, status from dq.check_results where run_id = 'run-2' and table_name = 'medications'"
        ).fetchall()
    )
    assert statuses["medications_required_columns"] == "pass"  # a shape check still applies
    assert statuses["medications_started_at_type"] == "pass"
    row_checks = {
        name: s
        for name, s in statuses.items()
        if name not in ("medications_required_columns", "medications_started_at_type")
    }
    assert row_checks and set(row_checks.values()) == {"not_applicable"}
    # with rows, the same checks passed (the volume check has no earlier batch to compare with in either run)
    before = con.execute(
        "select distinct status from dq.check_results where run_id = 'run-1' and table_name = 'medications' "
        "and check_name <> 'medications_volume_vs_previous_batch'"
    ).fetchall()
    assert before == [("pass",)]


def test_checks_are_placed_in_the_dqd_categories(warehouse):
    con, _ = warehouse
    checks = {c["check_name"]: c for c in collect(con)["checks"]}
    assert {c["category"] for c in checks.values()} <= {"conformance", "completeness", "plausibility"}
    assert (
        checks["encounters_patient_resolves"]["category"],
        checks["encounters_patient_resolves"]["subcategory"],
    ) == (
        "conformance",
        "relational",
    )
    assert checks["patients_natural_key_unique"]["subcategory"] == "uniqueness"
    assert checks["patients_birth_date_not_in_future"]["subcategory"] == "temporal"
    assert checks["observations_lab_value_plausible"]["context"] == "validation"
    assert dqd_place("plausibility", "x", {"dqd_subcategory": "atemporal"}).subcategory == "atemporal"


def test_failures_first_then_not_applicable_then_passes(warehouse):
    con, _ = warehouse
    statuses = [c["status"] for c in collect(con)["checks"]]
    order = {"fail": 0, "not_applicable": 1, "pass": 2}
    assert statuses == sorted(statuses, key=order.__getitem__) and statuses[0] == "fail"
    assert "not_applicable" in statuses


def test_failing_values_are_listed_without_identifiers(warehouse):
    con, out_dir = warehouse
    checks = {c["check_name"]: c for c in collect(con)["checks"]}
    unit = checks["observations_lab_unit_known"]["failing_values"]
    assert unit.labels == ("lab code", "unit as delivered")
    assert [values[1] for values, _ in unit.rows] == ["furlongs"] and [n for _, n in unit.rows] == [1]
    sex = checks["patients_sex_allowed_values"]
    assert sex["status"] == "fail" and [v for v, _ in sex["failing_values"].rows] == [("X",)]
    page = write_data_quality_report(con, out_dir).read_text()
    values = re.findall(r'<details class="values".*?</details>', page, re.S)
    assert values and any("furlongs" in v for v in values)
    for identifier in ("p1", "p2", "p3", "e1", "e3", "e9"):
        assert not any(f">{identifier}<" in v for v in values), identifier


def test_examples_name_the_batch_and_times_carry_the_zone(warehouse):
    con, out_dir = warehouse
    page = write_data_quality_report(con, out_dir).read_text()
    assert "batch b1: encounters.csv:4" in page
    stamps = re.findall(r"20\d\d-\d\d-\d\d \d\d:\d\d(?::\d\d)?(?: UTC)?", page)
    assert stamps and all(s.endswith(" UTC") for s in stamps)
    assert "GX Data Docs" not in page or "offline" in page


def test_trend_chart_per_check(warehouse):
    con, _ = warehouse
    data = collect(con)
    failed = {(r["table_name"], r["check_name"]) for r in data["check_trend"]}
    assert ("observations", "observations_lab_unit_known") in failed
    assert ("patients", "patients_natural_key_unique") not in failed  # never failed: not charted
    chart = check_trend(data["check_trend"])
    assert chart.spec is not None and chart.shown == len(data["check_trend"]) == 2 * len(failed)


def test_filter_click_in_chromium(warehouse, chromium):
    con, out_dir = warehouse
    page = write_data_quality_report(con, out_dir)
    checks = collect(con)["checks"]
    not_passing = [c["status"] for c in checks if c["status"] != "pass"]
    report = drive_page(
        page,
        [
            Eval("start", VISIBLE),
            Eval("start_count", COUNT),
            Click("all", '#check-filters input[data-dim="status"][value="pass"]', VISIBLE),
            Click("no_warn", '#check-filters input[data-dim="severity"][value="warn"]', VISIBLE),
            Eval("count", COUNT),
            Download("trend_csv", 'figure[data-chart="check_trend"] a[download]'),
        ],
    )
    assert report.errors == [] and report.csp_violations == []
    assert report.requests == [page.resolve().as_uri()]
    # the page opens on what needs attention: failures, then what did not apply; passes collapsed
    assert json.loads(report.values["start"]) == not_passing
    assert report.values["start_count"] == f"Showing {len(not_passing)} of {len(checks)} checks"
    assert len(json.loads(report.values["all"])) == len(checks)
    without_warn = [c for c in checks if c["severity"] != "warn"]
    assert len(json.loads(report.values["no_warn"])) == len(without_warn)
    assert report.values["count"] == f"Showing {len(without_warn)} of {len(checks)} checks"
    assert report.values["trend_csv"]["text"] == csv_text(check_trend(collect(con)["check_trend"]))


def _delivered(con, rows: dict[str, int], states: dict[str, str]) -> None:
    """What the ingest would have counted: patients.csv rows read per batch, and each batch's state."""
    con.execute("delete from dq.batch_reconciliation where source_file = 'patients.csv'")
    for batch, n in rows.items():
        con.execute(
            "insert into dq.batch_reconciliation (batch_id, source_file, rows_read, rows_loaded, rows_quarantined, "
            "rows_superseded, rows_held, batch_state, balanced) values (?, 'patients.csv', ?, ?, 0, 0, 0, ?, true)",
            [batch, n, n, states.get(batch, "accepted")],
        )


INITIAL = {"2025-12-01": 50_000}  # the first batch: the whole history, no baseline for what follows


@pytest.mark.parametrize(
    ("rows", "states", "expected"),
    [
        (INITIAL | {"2026-01-01": 1000, "2026-02-01": 400}, {}, ("fail", 600, 1000)),  # 60% fewer: over 50%
        (INITIAL | {"2026-01-01": 1000, "2026-02-01": 1300}, {}, ("pass", 300, 1000)),
        (INITIAL | {"2026-01-01": 1000, "2026-02-01": 0}, {}, ("fail", 1000, 1000)),  # an empty patients.csv
        # a rejected batch in between is no baseline: the accepted one before it is
        (
            INITIAL | {"2026-01-01": 1000, "2026-01-15": 10, "2026-02-01": 900},
            {"2026-01-15": "rejected"},
            ("pass", 100, 1000),
        ),
        ({"2026-01-01": 50_000, "2026-02-01": 900}, {}, ("not_applicable", 0, 0)),  # after the initial load
        ({"2026-02-01": 900}, {}, ("not_applicable", 0, 0)),  # the initial load itself
    ],
)
def test_volume_against_the_previous_accepted_batch(tmp_path, rows, states, expected):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    build_staging(con)
    seed_reconciliation(con, ("patients",))
    _delivered(con, rows, states)
    outcome = validate_table(con, load_suites(EXPECTATIONS_DIR)["patients"], "run-v", "2026-02-01")
    volume = next(r for r in outcome.results if r.check_name == "patients_volume_vs_previous_batch")
    assert (volume.status, volume.failing_rows, volume.total_rows) == expected
    assert volume.severity == "warn" and volume.threshold == 50
    stored = con.execute(
        "select status, detail from dq.check_results where check_name = 'patients_volume_vs_previous_batch'"
    ).fetchone()
    assert stored[0] == expected[0]
    if expected[0] != "not_applicable":
        assert "against 1,000 in batch 2026-01-01" in stored[1]
    con.close()


def test_drill_down_never_follows_a_declaration_naming_an_identifier_or_a_date(warehouse):
    con, _ = warehouse
    suites = load_suites(EXPECTATIONS_DIR)
    unit = next(e for e in suites["observations"].expectations if e.check_name == "observations_lab_unit_known")
    assert failing_values(con, unit, "observations") is not None
    for leak in ({"who": "patient_id"}, {"when": "strftime(observed_at, '%Y')"}, {"text": "value_text"}):
        sneaky = replace(unit, meta={**unit.meta, "drill_down": {"lab code": "code", **leak}})
        assert failing_values(con, sneaky, "observations") is None, leak
