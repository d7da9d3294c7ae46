"""The dashboard: one self-contained file, opened from disk by a real headless Chromium with networking off."""

import csv
import io
import json
import re
import struct

import dagster as dg
import duckdb
import pytest
from browser import CHROMIUM, ensure_chromium, open_page
from dashboard_probe import CHARTS, PROBE
from marts_synthetic import build_warehouse, write_cohort
from page_actions import Download, drive_page

from pipelines import PROJECT_ROOT
from pipelines.marts.build import MartInputError, build_marts
from pipelines.orchestration.assets.marts import marts, published_snapshot
from pipelines.orchestration.assets.reports import dashboard
from pipelines.reports.dashboard import rebuild_dashboard, write_dashboard
from tests.harness import pipeline_resources

ARTIFACTS = PROJECT_ROOT / "warehouse" / "test-artifacts"
@pytest.fixture(scope="session")
def chromium():
    reason = ensure_chromium()
    if reason:
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A real marts -> publish -> dashboard run over a synthetic warehouse."""
    root = tmp_path_factory.mktemp("dashboard")
    db = root / "warehouse.duckdb"
    inputs = build_warehouse(db, patients=500, seed=13)
    result = dg.materialize([marts, published_snapshot, dashboard], resources=pipeline_resources(db))
    assert result.success
    return root, inputs


def _snapshot(root, sql):
    with duckdb.connect(str(root / "published" / "marts.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def _shown(n):
    return "<11" if n is None else f"{n:,}"


def test_dashboard_file_is_self_contained_and_free_of_identifiers(published):
    root, inputs = published
    html = (root / "reports" / "dashboard.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html, re.I)
    assert "<link" not in html.lower() and "@import" not in html and "cdn" not in html.lower()
    assert "Content-Security-Policy" in html  # a browser would refuse any fetch anyway
    raw = inputs["raw"]
    for column in ("Id", "SSN", "FIRST", "LAST", "BIRTHDATE"):
        leaked = [v for v in raw[column].to_list() if v in html]
        assert not leaked, column


def _without_generation_time(html: str) -> str:
    return re.sub(r"page generated [0-9: -]+UTC", "", html)


def test_report_from_the_warehouse_equals_the_published_dashboard(published, tmp_path):
    # `cramp-cohort report` path: same marts whether read from the warehouse or the published snapshot
    root, _ = published
    page = rebuild_dashboard(root / "warehouse.duckdb", tmp_path / "out")
    assert page == tmp_path / "out" / "dashboard.html"
    assert _without_generation_time(page.read_text()) == _without_generation_time(
        (root / "reports" / "dashboard.html").read_text()
    )
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(MartInputError, match="run the pipeline"):
        rebuild_dashboard(empty, tmp_path / "out2")


def _mart_csv(root, sql: str) -> str:
    """The rows of a published mart as the page's CSV download must hold them (CRLF, hidden counts empty)."""
    with duckdb.connect(str(root / "published" / "marts.duckdb"), read_only=True) as con:
        cursor = con.execute(sql)
        header = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else str(v).lower() if isinstance(v, bool) else v for v in row])
    return out.getvalue()


def test_dashboard_in_headless_chromium(published, chromium):
    root, _ = published
    page = root / "reports" / "dashboard.html"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / ".gitignore").write_text("*\n")  # screenshots never get committed
    shot = ARTIFACTS / "dashboard.png"
    report = open_page(page, PROBE, screenshot=shot)

    assert report.errors == []
    assert report.requests == [page.resolve().as_uri()]  # the page itself, nothing else
    probe = json.loads(report.value)
    assert probe["scripts"] == 0 and probe["links"] == 0 and probe["definitionLink"]

    charts = {c["name"]: c for c in probe["charts"]}
    assert tuple(charts) == CHARTS
    for chart in charts.values():
        assert chart["title"] and chart["download"] and chart["table"], chart
        # every chart has marks, or says that the small-cell rule hides all of its cells
        if chart["empty"]:
            assert chart["published"] == 0 and chart["note"], chart
            continue
        assert chart["role"] == "img" and chart["accessibleName"] == chart["title"], chart
        assert chart["published"] > 0 and chart["tooltips"] >= chart["published"] + chart["hidden"], chart
        if chart["hidden"]:
            assert "small-cell rule" in chart["note"], chart

    # headline numbers equal the published marts
    staged = _snapshot(root, "select patients from marts.attrition where step_number = 1")[0][0]
    cohort, with_risk = _snapshot(
        root,
        "select patients_in_group, patients_with_flag from marts.flag_prevalence "
        "where flag = 'any_primary_risk' and breakdown = 'overall'",
    )[0]
    assert probe["headline"] == {
        "patients_in_staging": _shown(staged),
        "cohort_patients": _shown(cohort),
        "any_primary_risk": _shown(with_risk),
    }
    version, built_at = _snapshot(
        root, "select phenotype_version, strftime(built_at, '%Y-%m-%d %H:%M:%S') from marts.run_info"
    )[0]
    assert probe["version"] == version and probe["runTime"].startswith(built_at)
    assert "<11" in probe["note"] and "1 to 10" in probe["note"]

    # one mark per published mart cell, one grey tick per hidden one; the tables show the mart values
    periods = _snapshot(root, "select period, new_cramp_patients from marts.cohort_periods order by first_month")
    assert charts["new_patients"]["table"] == [[p, _shown(n)] for p, n in periods]
    assert charts["new_patients"]["published"] == sum(n is not None for _, n in periods)
    assert charts["new_patients"]["hidden"] == sum(n is None for _, n in periods)
    overlap = _snapshot(root, "select count(*), count_if(suppressed) from marts.risk_factor_overlap")[0]
    assert charts["overlap"]["published"] == overlap[0] - overlap[1]
    assert charts["overlap"]["hidden"] == overlap[1] > 0
    flags = _snapshot(
        root,
        "select count_if(patients_with_flag is not null), count_if(patients_with_flag is null) "
        "from marts.flag_prevalence where breakdown = 'overall' and flag <> 'any_primary_risk'",
    )[0]
    assert (charts["prevalence"]["published"], charts["prevalence"]["hidden"]) == flags
    steps = _snapshot(root, "select patients from marts.attrition where step_number <= 3 order by step_number")
    assert [row[2] for row in charts["attrition"]["table"]] == [_shown(n) for (n,) in steps]
    assert charts["attrition"]["table"][1][3] == _shown(steps[0][0] - steps[1][0])  # excluded = before - remaining
    gaps = _snapshot(root, "select count(*) from marts.care_gap_totals")[0][0]
    assert len(charts["care_gaps"]["table"]) == gaps
    assert "calcium_not_checked" not in json.dumps(charts["care_gaps"]["table"])  # clinical words, not ids

    # the latest phenotype version change: every flag that moved (or may hide a move), entered and left
    moves = _snapshot(
        root,
        "select flag, list(patients order by change) from marts.version_diff_counts group by flag, flag_order "
        "having bool_or(patients is null or patients > 0) order by flag_order",
    )
    assert probe["diffState"] == "changed" and moves
    assert probe["diff"] == [[flag, _shown(entered), _shown(left)] for flag, (entered, left) in moves]

    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 800 and height >= 1000


def test_dashboard_csv_download_is_the_mart_rows_and_no_policy_is_violated(published, chromium):
    root, _ = published
    page = root / "reports" / "dashboard.html"
    report = drive_page(
        page,
        [
            Download("periods", 'figure[data-chart="new_patients"] a[download]'),
            Download("overlap", 'figure[data-chart="overlap"] a[download]'),
        ],
    )
    assert report.errors == [] and report.csp_violations == []
    assert report.requests == [page.resolve().as_uri()]
    periods = report.values["periods"]
    grain = _snapshot(root, "select any_value(grain) from marts.cohort_periods")[0][0]
    assert periods["state"] == "completed" and periods["filename"] == f"new_cramp_patients_per_{grain}.csv"
    assert periods["text"] == _mart_csv(
        root,
        "select grain, period, first_month, last_month, new_cramp_patients, new_cramp_patients_suppressed "
        "from marts.cohort_periods order by first_month",
    )
    overlap = report.values["overlap"]
    assert overlap["state"] == "completed" and overlap["filename"] == "risk_factor_overlap.csv"
    assert overlap["text"] == _mart_csv(
        root,
        "select combination, hypocalcemia, neuropathy, pad, pregnancy, primary_flags_set, patients, "
        "patients_suppressed from marts.risk_factor_overlap order by primary_flags_set, combination",
    )


def test_empty_cohort_dashboard_renders_without_errors(tmp_path, chromium):
    db = tmp_path / "w.duckdb"
    build_warehouse(db, patients=30, seed=2)
    with duckdb.connect(str(db)) as con:
        write_cohort(
            con,
            con.sql("select * from cohort.patient_flags limit 0").pl(),
            con.sql("select * from cohort.care_gaps limit 0").pl(),
        )
        build_marts(con, run_id="r-empty", batch_id="b")
        page = write_dashboard(con, tmp_path / "reports")
    report = open_page(page, PROBE)
    assert report.errors == [] and report.requests == [page.resolve().as_uri()]
    charts = {c["name"]: c for c in json.loads(report.value)["charts"]}
    for name in ("new_patients", "cohort_size", "prevalence", "primary_flags", "age_band", "sex", "care_gaps"):
        assert charts[name]["empty"] and charts[name]["published"] == 0, name
    # 16 combinations of zero patients are published zeros; attrition shows the extract and two empty steps
    assert charts["overlap"]["published"] == 16 and charts["attrition"]["published"] == 3
