"""definition.html: the phenotype for clinicians, generated from the seeds, opened in a real headless Chromium.

The page under test is the one a normal run wrote (tests/version_runs.py, run 2, whose seeds differ from the
project's): everything on it is compared with that run's seed files and warehouse, computed here independently.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest
import simple_icd_10_cm as icd
from browser import CHROMIUM, ensure_chromium, open_page
from version_runs import VersionRuns, version_runs

from pipelines.cli import main as cli
from pipelines.marts.suppression import SMALL_MAX, SMALL_MIN
from pipelines.reference.build import build_reference_data
from pipelines.reference.seeds import SEEDS_DIR
from pipelines.reports.definition_page import write_definition_page

PROBE = """JSON.stringify({
  scripts: document.scripts.length,
  version: document.getElementById("phenotype-version").textContent.trim(),
  valueSets: [...document.querySelectorAll("section.value-set")].map(s => ({
    name: s.dataset.valueSet,
    rows: [...s.querySelectorAll("tr.entry")].map(r => ({
      system: r.dataset.codeSystem, code: r.dataset.code, match: r.dataset.match, verified: r.dataset.verified,
      unverifiedClass: r.classList.contains("unverified"),
      badge: r.querySelector("td.verified").textContent.trim(),
      title: r.querySelector("td.title").textContent.trim(),
      patients: r.querySelector("td.patients").textContent.trim(),
      rows: r.querySelector("td.rows").textContent.trim(),
      badgeColor: getComputedStyle(r.querySelector("td")).backgroundColor,
    })),
  })),
  parameters: Object.fromEntries([...document.querySelectorAll("#all-parameters tr[data-parameter]")]
    .map(r => [r.dataset.parameter, r.querySelector(".value").textContent.trim()])),
  inline: [...document.querySelectorAll("span.param")].map(s => [s.dataset.parameter, s.textContent.trim()]),
  missing: document.querySelectorAll(".missing-parameter").length,
  flagRules: document.querySelectorAll("#flag-rules tbody tr").length,
  labs: [...document.querySelectorAll("#lab-measures tr[data-measure]")].map(r => ({
    measure: r.dataset.measure, units: [...r.querySelectorAll(".unit")].map(u => u.dataset.unit)})),
  gestation: document.querySelectorAll("#gestation-weeks tbody tr").length,
  windows: [...document.querySelectorAll("#window-table tr[data-window]")].map(r => r.dataset.window),
  gaps: [...document.querySelectorAll("#care-gap-rules tr[data-gap]")].map(r => r.dataset.gap),
  diffState: document.getElementById("version-diff").dataset.state,
})"""


@pytest.fixture(scope="session")
def chromium():
    reason = ensure_chromium()
    if reason:
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> VersionRuns:
    return version_runs(tmp_path_factory)


def _seed(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _shown(n: int) -> str:
    return "<11" if SMALL_MIN <= n <= SMALL_MAX else f"{n:,}"


def _expected_counts(db: Path, entries: list[dict[str, str]]) -> dict[tuple[str, str, str], tuple[str, str]]:
    """Per seed entry: patients and rows the phenotype matched, from intermediate.condition_matches / lab_results."""
    with duckdb.connect(str(db), read_only=True) as con:
        matched = con.execute(
            "select value_set, code_system, code, patient_id from intermediate.condition_matches union all "
            "select measure, code_system, code, patient_id from intermediate.lab_results"
        ).fetchall()
    out = {}
    for e in entries:
        key = e["code"].replace(".", "").upper() if e["code_system"] == "ICD10CM" else e["code"]
        hits = [
            patient
            for value_set, system, code, patient in matched
            if value_set == e["value_set"]
            and system == e["code_system"]
            and (code == key or (e["match"] == "prefix" and code.startswith(key)))
        ]
        out[(e["value_set"], e["code_system"], e["code"])] = (_shown(len(set(hits))), _shown(len(hits)))
    return out


def test_definition_page_in_headless_chromium(runs: VersionRuns, chromium) -> None:
    page = runs.reports / "definition.html"  # written by the run itself, like the other reports
    report = open_page(page, PROBE)
    assert report.errors == []
    assert report.requests == [page.resolve().as_uri()]  # the page itself, nothing else
    probe = json.loads(report.value)
    assert probe["scripts"] == 0 and probe["diffState"] == "changed"
    assert probe["version"] == runs.runs[1].version

    seeds = runs.project_v2 / "sql" / "seeds"  # the seeds run 2 loaded
    entries = _seed(seeds / "value_sets.csv")
    names = list(dict.fromkeys(e["value_set"] for e in entries))
    assert [vs["name"] for vs in probe["valueSets"]] == names  # every value set, in seed order
    counts = _expected_counts(runs.db, entries)
    shown = {(vs["name"], r["system"], r["code"]): r for vs in probe["valueSets"] for r in vs["rows"]}
    assert len(shown) == len(entries)
    for e in entries:
        row = shown[(e["value_set"], e["code_system"], e["code"])]
        assert row["match"] == e["match"]
        assert (row["patients"], row["rows"]) == counts[(e["value_set"], e["code_system"], e["code"])], row
        if e["code_system"] == "ICD10CM":
            assert row["title"].startswith(icd.get_description(e["code"])), row
        else:
            assert row["title"].startswith(e["description"]), row
        unverified = e["verified"] == "false"
        assert row["unverifiedClass"] == unverified and (row["badge"] == "unverified") == unverified, row
    # unverified entries stand out: their rows are tinted, the others are not
    colors = {r["unverifiedClass"]: r["badgeColor"] for r in shown.values()}
    assert colors[True] != colors[False]
    assert any(p in ("<11",) for p, _ in counts.values()) and any(p not in ("<11", "0") for p, _ in counts.values())

    parameters = _seed(seeds / "phenotype_parameters.csv")
    assert probe["parameters"] == {p["parameter"]: p["value"] for p in parameters}
    values = {p["parameter"]: p["value"] for p in parameters}
    assert probe["inline"] and all(text.split()[0] == values[name] for name, text in probe["inline"])
    assert probe["missing"] == 0
    assert probe["flagRules"] == len(_seed(seeds / "flag_rules.csv"))
    units = _seed(seeds / "lab_units.csv")
    assert {lab["measure"]: lab["units"] for lab in probe["labs"] if lab["units"]} == {
        m: [u["unit"] for u in units if u["measure"] == m] for m in dict.fromkeys(u["measure"] for u in units)
    }
    assert probe["gestation"] == len(_seed(seeds / "gestation_weeks.csv"))
    assert probe["windows"] == ["acute", "chronic", "lifelong", "lab", "lab_long", "pregnancy"]
    assert probe["gaps"] == ["calcium_not_checked", "vascular_assessment_missing", "magnesium_not_checked"]


def test_report_command_rebuilds_the_definition_page(runs: VersionRuns, tmp_path: Path, monkeypatch) -> None:
    for name in list(os.environ):
        if name.startswith("CRAMP_COHORT_"):
            monkeypatch.delenv(name)
    out = tmp_path / "reports"
    assert cli(["report", "--db", str(runs.db), "--out", str(out)]) == 0
    rebuilt = (out / "definition.html").read_text()
    written = (runs.reports / "definition.html").read_text()

    def without_time(text: str) -> str:
        return re.sub(r"page generated [0-9: -]+UTC", "", text)

    assert without_time(rebuilt) == without_time(written)


def test_page_shows_whatever_the_seed_files_hold(tmp_path: Path) -> None:
    """A new seed file, a new value set and a changed number appear without any change to the page's code."""
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    (seeds / "site_label_map.csv").write_text("source_system,code_system,note\nICD10-LOCAL,ICD10CM,a site label\n")
    with (seeds / "value_sets.csv").open("a") as handle:
        handle.write("parathyroid_review,ICD10CM,E20.9,exact,Hypoparathyroidism unspecified,true\n")
        handle.write("parathyroid_review,SNOMED,36976004,exact,Hypoparathyroidism (disorder),false\n")
    params = seeds / "phenotype_parameters.csv"
    params.write_text(params.read_text().replace("acute_days_before,90,", "acute_days_before,120,"))
    con = duckdb.connect()
    build_reference_data(con, seeds)
    html = write_definition_page(con, tmp_path / "out").read_text()

    assert 'data-seed="site_label_map"' in html and "ICD10-LOCAL" in html and "a site label" in html
    section = html[html.index('id="vs-parathyroid_review"') :]
    section = section[: section.index("</section>")]
    assert "Hypoparathyroidism, unspecified" in section  # the official FY2026 title, not the seed's wording
    assert 'class="entry unverified"' in section and "36976004" in section
    assert "no flag rule names this value set" in section  # an orphan value set is visible to the reviewer
    assert re.search(r'data-parameter="acute_days_before"[^>]*>120 days<', html)
    assert 'id="missing-parameters"' not in html and 'data-state="unavailable"' in html

    # a number the sentences need but the seed no longer holds is shown as missing, never as a stale value
    con.execute("delete from ref.phenotype_parameters where parameter = 'magnesium_low_mg_dl'")
    html = write_definition_page(con, tmp_path / "out").read_text()
    assert 'data-missing="magnesium_low_mg_dl"' in html and 'id="missing-parameters"' in html
