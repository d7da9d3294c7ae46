"""The version diff: real pipeline runs before and after a value-set change, and the rules on small warehouses.

The end-to-end part runs `cramp-cohort run` twice over one extract (tests/version_runs.py): the project, then a
copy with a changed value set. The diff must name exactly the patients an independent oracle says moved and reach
the suppressed mart, the dashboard and the definition page. What later runs of the same version do is tested on
hand-built warehouses below.
"""

from __future__ import annotations

import html as html_text
import re
from datetime import datetime

import duckdb
import polars as pl
import pytest
from version_runs import LARGE_FLAG, SMALL_FLAG, VersionRuns, version_runs

from pipelines.cohort.version_diff import DIFF_FLAGS, record_version_diff
from pipelines.contract.flags import FLAG_COLUMNS
from pipelines.marts.suppression import SMALL_MAX, SMALL_MIN


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> VersionRuns:
    return version_runs(tmp_path_factory)


def _moves(diff: pl.DataFrame) -> dict[str, dict[str, set[str]]]:
    out: dict[str, dict[str, set[str]]] = {}
    for row in diff.iter_rows(named=True):
        direction = "entered" if row["current_value"] else "left"
        out.setdefault(row["flag"], {"entered": set(), "left": set()})[direction].add(row["patient_id"])
    return out


def test_first_run_has_nothing_to_compare(runs: VersionRuns) -> None:
    first = runs.runs[0]
    assert first.version_runs.height == 1
    row = first.version_runs.row(0, named=True)
    assert row["previous_version"] is None and row["version_changed"] is False and row["input_changed"] is None
    assert first.version_diff.height == 0
    assert first.mart.height == 0  # no version change yet: no rows
    assert 'data-state="first"' in first.dashboard_html and 'data-state="first"' in first.definition_html


def test_value_set_change_names_exactly_the_patients_that_moved(runs: VersionRuns) -> None:
    first, second = runs.runs[0], runs.runs[1]
    assert second.version != first.version and second.version.split("+")[0] == first.version.split("+")[0]
    diff = second.version_diff
    assert set(diff["previous_version"]) == {first.version} and set(diff["current_version"]) == {second.version}
    assert set(diff["run_id"]) == {second.run_id}

    # exactly the oracle's patients, for exactly the two flags whose value sets changed
    expected = {flag: sides for flag, sides in runs.expected.items() if sides["entered"] or sides["left"]}
    assert _moves(diff) == expected
    assert len(expected[LARGE_FLAG]["entered"]) > SMALL_MAX and len(expected[LARGE_FLAG]["left"]) > SMALL_MAX
    assert SMALL_MIN <= len(expected[SMALL_FLAG]["left"]) <= SMALL_MAX

    # and exactly what differs between the flags the two runs wrote: the run-1 flags survived the rebuild
    before = first.patient_flags.select("patient_id", *FLAG_COLUMNS, "any_primary_risk")
    after = second.patient_flags.select("patient_id", *FLAG_COLUMNS, "any_primary_risk")
    assert set(before["patient_id"]) == set(after["patient_id"])  # nobody entered or left the cohort here
    joined = before.join(after, on="patient_id", suffix="_after")
    differing = {
        (row["patient_id"], flag, row[flag], row[f"{flag}_after"])
        for row in joined.iter_rows(named=True)
        for flag in (*FLAG_COLUMNS, "any_primary_risk")
        if row[flag] != row[f"{flag}_after"]
    }
    listed = {(r["patient_id"], r["flag"], r["previous_value"], r["current_value"]) for r in diff.iter_rows(named=True)}
    assert listed == differing
    assert diff["previous_in_cohort"].all() and diff["current_in_cohort"].all()

    log = second.version_runs.row(1, named=True)
    assert (log["previous_version"], log["phenotype_version"], log["version_changed"]) == (
        first.version,
        second.version,
        True,
    )
    assert log["diff_rows"] == diff.height and log["input_changed"] is False  # same extract: a definition change


def test_mart_counts_entered_and_left_per_flag_with_small_counts_suppressed(runs: VersionRuns) -> None:
    second = runs.runs[1]
    mart = second.mart
    assert mart.height == 2 * len(DIFF_FLAGS)
    assert set(mart["flag"]) == set(DIFF_FLAGS) and set(mart["change"]) == {"entered", "left"}
    exact = {
        (flag, side): len(patients)
        for flag, sides in _moves(second.version_diff).items()
        for side, patients in sides.items()
    }
    hidden = shown = 0
    for row in mart.iter_rows(named=True):
        n = exact.get((row["flag"], row["change"]), 0)
        if SMALL_MIN <= n <= SMALL_MAX:
            assert row["patients"] is None and row["patients_suppressed"], row
        if row["patients_suppressed"]:
            hidden += n > 0
            pair = mart.filter((pl.col("flag") == row["flag"]) & (pl.col("change") != row["change"]))
            assert pair["patients_suppressed"].all(), row  # the other direction could be worked out otherwise
        else:
            assert row["patients"] == n, row
            shown += n > 0
    assert hidden > 0 and shown > 0
    assert set(mart["previous_version"]) == {runs.runs[0].version} and set(mart["current_version"]) == {second.version}


def test_dashboard_and_definition_page_show_the_diff(runs: VersionRuns) -> None:
    second = runs.runs[1]  # the pages the second run wrote
    moved = {
        row["flag"]: row
        for row in second.mart.iter_rows(named=True)
        if row["patients"] != 0  # suppressed (None) counts may hide a move: shown too
    }
    for html in (second.dashboard_html, second.definition_html):
        assert 'id="version-diff" data-state="changed"' in html
        assert f'id="diff-previous-version">{runs.runs[0].version}<' in html
        assert f'id="diff-current-version">{second.version}<' in html
        rows = re.findall(
            r'<tr data-flag="(\w+)"><td>.*?</td>\s*<td[^>]*>([^<]*)</td>\s*<td[^>]*>([^<]*)</td>', html, re.S
        )
        shown = {flag: (html_text.unescape(entered), html_text.unescape(left)) for flag, entered, left in rows}
        assert set(shown) == set(moved)
        for flag, (entered, left) in shown.items():
            counts = {
                r["change"]: r["patients"] for r in second.mart.filter(pl.col("flag") == flag).iter_rows(named=True)
            }
            assert (entered, left) == tuple(
                "<11" if counts[c] is None else f"{counts[c]:,}" for c in ("entered", "left")
            )
        for patient in runs.expected[LARGE_FLAG]["left"]:
            assert patient not in html  # de-identified: counts only


# -- the rules on hand-built warehouses (fast, the real function and SQL) ------------------------------------------


def _warehouse(con: duckdb.DuckDBPyConnection, version: str, flags: dict[str, dict[str, bool]]) -> None:
    """cohort.patient_flags with `flags` (patient -> true flags), ref version and one reconciliation row."""
    for schema in ("cohort", "ref", "dq"):
        con.execute(f"create schema if not exists {schema}")
    columns = ", ".join(f"{c} boolean" for c in (*FLAG_COLUMNS, "any_primary_risk"))
    con.execute(
        f"create or replace table cohort.patient_flags (patient_id varchar, {columns}, phenotype_version varchar)"
    )
    for patient, true_flags in flags.items():
        values = [true_flags.get(c, False) for c in (*FLAG_COLUMNS, "any_primary_risk")]
        con.execute(
            f"insert into cohort.patient_flags values (?, {', '.join('?' for _ in values)}, ?)",
            [patient, *values, version],
        )
    con.execute("create or replace table ref.phenotype_version as select ? as phenotype_version", [version])
    con.execute(
        "create table if not exists dq.batch_reconciliation as select 'b1' as batch_id, 'conditions.csv' as "
        "source_file, 10 as rows_read, 10 as rows_loaded, 0 as rows_quarantined, 0 as rows_superseded"
    )


def _diff(con: duckdb.DuckDBPyConnection) -> set[tuple]:
    return set(
        con.execute(
            "select patient_id, flag, previous_value, current_value, previous_in_cohort, current_in_cohort "
            "from cohort.version_diff"
        ).fetchall()
    )


def test_entering_and_leaving_the_cohort_move_the_true_flags() -> None:
    con = duckdb.connect()
    _warehouse(con, "v1", {"stays": {"pad": True}, "leaves": {"neuropathy": True, "any_primary_risk": True}})
    first = record_version_diff(con, "run-1", "b1", datetime(2026, 1, 1))
    assert first.previous_version is None and not first.version_changed and first.diff_rows == 0

    _warehouse(
        con, "v2", {"stays": {"pad": True, "elderly": True}, "enters": {"pregnancy": True, "any_primary_risk": True}}
    )
    second = record_version_diff(con, "run-2", "b1", datetime(2026, 1, 2))
    assert second.version_changed and second.previous_version == "v1" and second.input_changed is False
    assert _diff(con) == {
        ("stays", "elderly", False, True, True, True),
        ("leaves", "in_cohort", True, False, True, False),
        ("leaves", "neuropathy", True, False, True, False),
        ("leaves", "any_primary_risk", True, False, True, False),
        ("enters", "in_cohort", False, True, False, True),
        ("enters", "pregnancy", False, True, False, True),
        ("enters", "any_primary_risk", False, True, False, True),
    }
    assert second.patients_moved == 3

    # same version, different flags (e.g. a new batch): the diff of the version change stays as it was
    _warehouse(con, "v2", {"stays": {"pad": True}})
    con.execute("update dq.batch_reconciliation set rows_read = 11, rows_loaded = 11")
    third = record_version_diff(con, "run-3", "b2", datetime(2026, 1, 3))
    assert not third.version_changed and third.input_changed is True and third.diff_rows == 7
    assert con.execute("select distinct run_id from cohort.version_diff").fetchall() == [("run-2",)]

    # the next change compares with the last run (run 3), not with the run that wrote the previous diff
    _warehouse(con, "v3", {"stays": {"pad": True}})
    fourth = record_version_diff(con, "run-4", "b2", datetime(2026, 1, 4))
    assert fourth.version_changed and fourth.previous_version == "v2" and _diff(con) == set()
    runs = con.execute(
        "select run_id, version_changed, diff_rows from cohort.version_runs order by recorded_at"
    ).fetchall()
    assert runs == [("run-1", False, 0), ("run-2", True, 7), ("run-3", False, 0), ("run-4", True, 0)]


def test_an_empty_cohort_keeps_its_version_and_a_missing_flag_column_counts_as_false() -> None:
    con = duckdb.connect()
    _warehouse(con, "v1", {})
    assert record_version_diff(con, "run-1", "b1").current_version == "v1"  # from ref: no flag rows to read it from
    con.execute(f"alter table cohort.patient_flags_baseline drop column {FLAG_COLUMNS[0]}")  # an older baseline
    _warehouse(con, "v2", {"p": {FLAG_COLUMNS[0]: True}})
    outcome = record_version_diff(con, "run-2", "b1")
    assert outcome.previous_version == "v1" and outcome.version_changed
    assert _diff(con) == {
        ("p", "in_cohort", False, True, False, True),
        ("p", FLAG_COLUMNS[0], False, True, False, True),
    }


def test_a_warehouse_without_a_baseline_starts_over() -> None:
    # e.g. made by an earlier release: no baseline of its last flags, so no diff can be computed honestly
    con = duckdb.connect()
    _warehouse(con, "v1", {"p": {"pad": True}})
    record_version_diff(con, "run-1", "b1")
    con.execute("drop table cohort.patient_flags_baseline")
    _warehouse(con, "v2", {})
    outcome = record_version_diff(con, "run-2", "b1")
    assert outcome.previous_version is None and not outcome.version_changed and _diff(con) == set()
