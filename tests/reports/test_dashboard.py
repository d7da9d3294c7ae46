"""The dashboard: one self-contained file, opened from disk by a real headless Chromium with networking off."""

import json
import re
import struct

import dagster as dg
import duckdb
import pytest
from browser import CHROMIUM, ensure_chromium, open_page
from marts_synthetic import build_warehouse, write_cohort

from pipelines import PROJECT_ROOT
from pipelines.marts.build import MartInputError, build_marts
from pipelines.orchestration.assets.marts import marts, published_snapshot
from pipelines.orchestration.assets.reports import dashboard
from pipelines.reports.dashboard import rebuild_dashboard, write_dashboard
from tests.harness import pipeline_resources

ARTIFACTS = PROJECT_ROOT / "warehouse" / "test-artifacts"
CHARTS = ("cohort_size", "new_patients", "prevalence", "overlap", "age_band", "sex", "care_gaps", "attrition")
# Everything the test reads from the rendered page, as JSON.
PROBE = """JSON.stringify({
  rendered: document.body.dataset.rendered === "true",
  charts: [...document.querySelectorAll("figure.chart")].map(f => ({
    name: f.dataset.chart,
    title: f.querySelector("h2").textContent.trim(),
    marks: f.querySelectorAll("svg .mark:not(.legend-key)").length,
    suppressedMarks: f.querySelectorAll("svg .mark.suppressed").length,
    axisLabels: [...f.querySelectorAll("svg .axis-label")].map(t => t.textContent),
    suppressedLabels: [...f.querySelectorAll("svg text")].filter(t => t.textContent === "<11").length,
    empty: f.querySelectorAll("svg .empty").length,
  })),
  headline: Object.fromEntries([...document.querySelectorAll("[data-headline]")]
    .map(e => [e.dataset.headline, e.textContent.trim()])),
  version: document.getElementById("phenotype-version").textContent.trim(),
  runTime: document.getElementById("run-time").textContent.trim(),
  note: document.getElementById("suppression-note").textContent.replace(/\\s+/g, " ").trim(),
  scripts: [...document.scripts].map(s => s.src),
  links: [...document.querySelectorAll("link, img, iframe")].length,
  diffState: document.getElementById("version-diff").dataset.state,
  diff: [...document.querySelectorAll("#diff-table tbody tr")]
    .map(r => [r.dataset.flag, ...[...r.querySelectorAll("td")].slice(1).map(td => td.textContent.trim())]),
})"""


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


def _payload(html: str) -> dict:
    data = json.loads(re.search(r'id="dashboard-data">(.*?)</script>', html, re.S).group(1))
    return data


def test_report_from_the_warehouse_equals_the_published_dashboard(published, tmp_path):
    # `cramp-cohort report` path: same marts whether read from the warehouse or the published snapshot
    root, _ = published
    page = rebuild_dashboard(root / "warehouse.duckdb", tmp_path / "out")
    assert page == tmp_path / "out" / "dashboard.html"
    assert _payload(page.read_text()) == _payload((root / "reports" / "dashboard.html").read_text())
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(MartInputError, match="run the pipeline"):
        rebuild_dashboard(empty, tmp_path / "out2")


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
    assert probe["rendered"] and probe["scripts"] == ["", ""] and probe["links"] == 0

    charts = {c["name"]: c for c in probe["charts"]}
    assert tuple(charts) == CHARTS
    for chart in charts.values():
        assert chart["title"] and chart["marks"] > 0, chart
        assert len(chart["axisLabels"]) == 2 and all(chart["axisLabels"]), chart

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

    # one mark per mart row, and suppressed cells drawn as hatched stubs labelled <11
    overlap = _snapshot(root, "select count(*), count_if(suppressed) from marts.risk_factor_overlap")[0]
    assert charts["overlap"]["marks"] == overlap[0]
    assert charts["overlap"]["suppressedMarks"] == charts["overlap"]["suppressedLabels"] == overlap[1] > 0
    flags = _snapshot(root, "select count(*) from marts.flag_prevalence where breakdown = 'overall'")[0][0]
    assert charts["prevalence"]["marks"] == flags
    months = _snapshot(root, "select count(*), count_if(new_cramp_patients_suppressed) from marts.cohort_monthly")[0]
    assert charts["new_patients"]["marks"] == months[0] and charts["new_patients"]["suppressedMarks"] == months[1]
    steps = _snapshot(root, "select count(*) from marts.attrition")[0][0]
    assert charts["attrition"]["marks"] == steps

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
    for name in ("cohort_size", "new_patients", "prevalence", "age_band", "sex", "care_gaps"):
        assert charts[name]["empty"] == 1, name
    assert charts["overlap"]["marks"] == 16 and charts["attrition"]["marks"] > 0
