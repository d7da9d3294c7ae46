"""data_quality.html: sections present, numbers equal dq.check_results, runs compared, no identifiers."""

from html.parser import HTMLParser

import duckdb
import pytest
from quality_fixtures.staging import TABLE_ORDER, build_staging, seed_reconciliation, validate_table

from pipelines import EXPECTATIONS_DIR
from pipelines.contract.suites import load_suites
from pipelines.reports.data_quality import write_data_quality_report

SECTIONS = [
    "batch-summary",
    "categories",
    "checks",
    "new-failures",
    "resolved-failures",
    "quarantine",
    "reconciliation",
    "trend",
]


class _Report(HTMLParser):
    """Collects the data-* attributes of every row, per table id, and all visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[dict[str, str]]] = {}
        self.text: list[str] = []
        self.external: list[str] = []
        self._table: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):  # tables without an id sit inside a row (failing values)
            self._table = attrs.get("id")
            self.rows[self._table] = []
        elif tag == "tr" and self._table and any(k.startswith("data-") for k in attrs):
            self.rows[self._table].append(attrs)
        external_script = tag == "script" and "src" in attrs
        if tag in ("link", "img") or external_script or (attrs.get("src") or "").startswith("http"):
            self.external.append(tag)

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("dq_report")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    build_staging(con)
    seed_reconciliation(con)
    # what the staging build would have quarantined: the encounter whose stop is before its start
    con.execute(
        "insert into quarantine.rows select _batch_id, 'encounters.csv', _source_line, "
        "'encounters_stop_not_before_start', 'stop before start', to_json(e)::varchar, 'validation', now() "
        "from staging.encounters e where encounter_id = 'e3'"
    )
    con.execute("delete from staging.encounters where encounter_id = 'e3'")
    suites = load_suites(EXPECTATIONS_DIR)
    for table in TABLE_ORDER:
        validate_table(con, suites[table], "run-1", "b1", tmp_path / "reports" / "gx")
    # batch 2 fixes p3's sex and breaks a birth date: one resolved and one new failure
    con.execute("update staging.patients set sex = 'F', _batch_id = 'b2' where patient_id = 'p3'")
    con.execute("update staging.patients set birth_date = date '2999-01-01', _batch_id = 'b2' where patient_id = 'p2'")
    for table in TABLE_ORDER:
        validate_table(con, suites[table], "run-2", "b2", tmp_path / "reports" / "gx")
    yield con, tmp_path / "reports"
    con.close()


def _parse(path) -> _Report:
    report = _Report()
    report.feed(path.read_text())
    return report


def test_report_has_every_section_and_no_external_resources(warehouse):
    con, out_dir = warehouse
    path = write_data_quality_report(con, out_dir)
    assert path == out_dir / "data_quality.html"
    report = _parse(path)
    assert set(SECTIONS) <= set(report.rows)
    assert report.external == []
    assert 'href="gx/index.html"' in path.read_text()


def test_check_numbers_equal_the_history_table(warehouse):
    con, out_dir = warehouse
    report = _parse(write_data_quality_report(con, out_dir))
    stored = {
        (t, c): (s, "" if f is None else str(f), str(n))
        for t, c, s, f, n in con.execute(
            "select table_name, check_name, status, failing_rows, total_rows "
            "from dq.check_results where run_id = 'run-2'"
        ).fetchall()
    }
    shown = {
        (r["data-table"], r["data-check"]): (r["data-status"], r["data-failing"], r["data-total"])
        for r in report.rows["checks"]
    }
    assert shown == stored
    kahn = {
        k
        for (k,) in con.execute("select distinct kahn_category from dq.check_results where run_id = 'run-2'").fetchall()
    }
    dqd = {"referential": "conformance", "uniqueness": "plausibility"}
    assert {r["data-category"] for r in report.rows["categories"]} == {dqd.get(k, k) for k in kahn}
    assert [r["data-run"] for r in report.rows["trend"]] == ["run-1", "run-2"]


def test_report_compares_with_the_previous_run(warehouse):
    con, out_dir = warehouse
    report = _parse(write_data_quality_report(con, out_dir))
    new = {r["data-check"] for r in report.rows["new-failures"]}
    resolved = {r["data-check"] for r in report.rows["resolved-failures"]}
    assert "patients_birth_date_not_in_future" in new
    assert "patients_sex_allowed_values" in resolved
    assert "patients_age_0_120" not in new | resolved  # failing in both runs


def test_quarantine_section_counts_reasons_with_line_numbers_but_no_identifiers(warehouse):
    con, out_dir = warehouse
    path = write_data_quality_report(con, out_dir)
    report = _parse(path)
    stored = dict(con.execute("select reason_code, count(*) from quarantine.rows group by 1").fetchall())
    assert {r["data-reason"]: int(r["data-rows"]) for r in report.rows["quarantine"]} == stored
    text = path.read_text()
    assert "encounters.csv:4" in text
    for identifier in ("p1", "p2", "e3", "e4", "raw_record"):
        assert f">{identifier}<" not in text and f'"{identifier}"' not in text


def test_empty_warehouse_still_renders(tmp_path):
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    report = _parse(write_data_quality_report(con, tmp_path / "reports"))
    assert "No validation has run yet." in "".join(report.text)
