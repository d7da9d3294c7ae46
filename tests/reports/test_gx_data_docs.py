"""GX Data Docs pages are published safe: markup placed in input values never runs, nothing is fetched from the
web, no raw input value (patient ids among them) is shown, and the data-quality report's link leads to pages that
really hold the validation results. Proven in a real headless Chromium and by parsing the HTML."""

import json
import re
from html.parser import HTMLParser

import duckdb
import pytest
from browser import CHROMIUM, ensure_chromium, open_page
from quality_fixtures.staging import TABLE_ORDER, build_staging, seed_reconciliation, validate_table

from pipelines import EXPECTATIONS_DIR
from pipelines.contract.suites import load_suites
from pipelines.reports.data_quality import write_data_quality_report
from pipelines.reports.safe_html import sanitize_body

# Each payload sets a marker if any of it runs; they go where GX samples unexpected values.
PAYLOADS = {
    "sex": '<img src=x onerror="window.__pwned_sex=1">',
    "encounter_class": "<script>window.__pwned_class=1</script>",
    "value_type": '"><svg onload="window.__pwned_type=1"><script>window.__pwned_type2=1</script>',
    "code_system": "<a href=\"javascript:window.__pwned_link=1\" id=clickme>x</a><iframe src='https://evil.test'>",
    "patient_id": "PID-<b onmouseover=window.__pwned_id=1>7731</b>",
}
MARKERS = ["__pwned_sex", "__pwned_class", "__pwned_type", "__pwned_type2", "__pwned_link", "__pwned_id"]
PROBE = """(() => {
  const link = document.getElementById("clickme");
  if (link) link.click();
  return JSON.stringify({
    ran: MARKERS.filter((m) => window[m] !== undefined),
    scripts: document.scripts.length,
    text: document.body.innerText,
  });
})()""".replace("MARKERS", json.dumps(MARKERS))


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("gx_docs")
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    build_staging(con)
    seed_reconciliation(con)
    con.execute("update staging.patients set sex = ? where patient_id = 'p3'", [PAYLOADS["sex"]])
    # a duplicated patient id: the uniqueness check would sample it (a raw id, and markup)
    con.execute("update staging.patients set patient_id = ? where patient_id in ('p4', 'p5')", [PAYLOADS["patient_id"]])
    con.execute(
        "update staging.encounters set encounter_class = ? where encounter_id = 'e2'", [PAYLOADS["encounter_class"]]
    )
    con.execute("update staging.observations set value_type = ? where _source_line = 3", [PAYLOADS["value_type"]])
    con.execute("update staging.conditions set code_system = ? where _source_line = 3", [PAYLOADS["code_system"]])
    suites = load_suites(EXPECTATIONS_DIR)
    for table in TABLE_ORDER:
        validate_table(con, suites[table], "run-1", "b1", root / "reports" / "gx")
    write_data_quality_report(con, root / "reports")
    con.close()
    return root / "reports"


@pytest.fixture(scope="session")
def chromium():
    reason = ensure_chromium()
    if reason:
        pytest.skip(reason)
    return CHROMIUM


def _pages(reports):
    return sorted((reports / "gx").glob("*.html"))


def test_no_payload_runs_and_nothing_is_fetched_in_chromium(reports, chromium):
    pages = _pages(reports)
    assert {p.stem for p in pages} == {*TABLE_ORDER, "index"}
    for page in pages:
        report = open_page(page, PROBE)
        probe = json.loads(report.value)
        assert probe["ran"] == [], page.name
        assert probe["scripts"] == 0, page.name
        assert report.requests == [page.resolve().as_uri()], page.name  # no CDN, no iframe, no image
        assert report.errors == [], page.name


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.handlers: list[str] = []
        self.urls: list[str] = []
        self.csp = ""

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(name)
            if name in ("src", "href", "action", "formaction", "srcdoc", "style"):
                self.urls.append(value or "")
            if tag == "meta" and name == "content" and "default-src" in (value or ""):
                self.csp = value


def test_pages_hold_no_active_markup_and_no_input_values(reports):
    for page in _pages(reports):
        text = page.read_text()
        markup = _Markup()
        markup.feed(text)
        assert not markup.tags & {"script", "img", "iframe", "svg", "link", "object", "embed", "form"}, page.name
        assert markup.handlers == [], page.name
        assert all(re.fullmatch(r"[A-Za-z0-9_.-]*\.html(#.*)?|#.*", url) for url in markup.urls), markup.urls
        assert "default-src 'none'" in markup.csp and "script-src" not in markup.csp
        assert "7731" not in text and "PID-" not in text  # the duplicated raw patient id is not shown
        assert "__pwned" not in text and "onerror" not in text  # no sampled input value, not even escaped


def test_data_quality_report_links_to_pages_that_hold_the_results(reports, chromium):
    report_html = (reports / "data_quality.html").read_text()
    assert 'href="gx/index.html"' in report_html
    index = (reports / "gx" / "index.html").read_text()
    for table in TABLE_ORDER:
        assert f'href="{table}.html"' in index
    # the failing checks are on the pages, with their counts
    patients = json.loads(open_page(reports / "gx" / "patients.html", PROBE).value)["text"]
    assert "values must belong to this set" in patients and "1 unexpected values found" in patients
    encounters = json.loads(open_page(reports / "gx" / "encounters.html", PROBE).value)["text"]
    assert "Expectation Validation Result" in encounters and "unexpected values found" in encounters


@pytest.mark.parametrize(
    "untrusted",
    [
        "<scr<script>ipt>alert(1)</script>",
        "<IMG SRC=javascript:alert(1)>",
        "<a href='//evil.test/x.html'>x</a><a href=' javascript:alert(1)'>y</a>",
        "<div style='background:url(https://evil.test)' onclick=alert(1)>z</div>",
        "<svg><script>alert(1)</script></svg><math><mi xlink:href='javascript:alert(1)'>",
        "<!--<script>alert(1)</script>--><![CDATA[<script>]]>",
        "<table><tr><td title='x\" onmouseover=\"alert(1)'>cell</td></tr></table>",
    ],
)
def test_sanitizer_rebuilds_only_inert_markup(untrusted):
    rebuilt = sanitize_body(untrusted)
    markup = _Markup()
    markup.feed(rebuilt)
    assert markup.handlers == [] and markup.urls == []
    assert not markup.tags - {"a", "div", "table", "tr", "td"}
    assert "<script" not in rebuilt.lower() and "javascript:" not in rebuilt.lower()
