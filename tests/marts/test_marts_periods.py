"""marts.cohort_periods: new cramp patients rolled up (month -> quarter -> year) until the cells are publishable.

Hand-built cohorts whose right grain can be checked by eye, the edge merge, the rule that hides a period holding
exactly one hidden month, and the disclosure audit catching a period that would give a hidden month away.
"""

from datetime import date

import duckdb
import polars as pl
import pytest
from marts_synthetic import VERSION, build_warehouse, write_cohort

from pipelines.contract.flags import FLAG_COLUMNS, PRIMARY_FLAGS, SECONDARY_FLAGS
from pipelines.marts.build import build_marts
from pipelines.marts.disclosure import DisclosureError, assert_disclosure_safe, load_model

PERIODS = "select period, new_cramp_patients, cohort_size from marts.cohort_periods order by first_month"


def _patient(i: int, index: date) -> dict:
    row = {"patient_id": f"p{i:05d}", "index_date": index, "cramp_events": 1}
    row |= {flag: i % 3 == 0 and flag == "hypocalcemia" for flag in FLAG_COLUMNS}
    row |= {
        "age_at_index": 30 + i % 40,
        "sex": "F" if i % 2 else "M",
        "any_primary_risk": any(row[f] for f in PRIMARY_FLAGS),
        "risk_factor_count": sum(row[f] for f in PRIMARY_FLAGS + SECONDARY_FLAGS),
        "phenotype_version": VERSION,
    }
    return row


def _cohort(per_month: dict[tuple[int, int], int]) -> list[dict]:
    rows: list[dict] = []
    for (year, month), n in sorted(per_month.items()):
        rows += [_patient(len(rows), date(year, month, 10)) for _ in range(n)]
    return rows


def _build(tmp_path, per_month: dict[tuple[int, int], int]) -> duckdb.DuckDBPyConnection:
    db = tmp_path / "warehouse.duckdb"
    rows = _cohort(per_month)
    build_warehouse(db, patients=len(rows) + 100, seed=1)
    con = duckdb.connect(str(db))
    flags = pl.DataFrame(rows) if rows else con.sql("select * from cohort.patient_flags limit 0").pl()
    write_cohort(con, flags, con.sql("select * from cohort.care_gaps limit 0").pl())
    build_marts(con, run_id="r", batch_id="b")
    return con


def _months(year: int, values: list[int]) -> dict[tuple[int, int], int]:
    return {(year, m + 1): n for m, n in enumerate(values) if n}


def test_months_that_are_publishable_stay_months(tmp_path):
    with _build(tmp_path, _months(2023, [12, 15, 11, 20])) as con:
        assert con.execute(PERIODS).fetchall() == [
            ("2023-01", 12, 12),
            ("2023-02", 15, 27),
            ("2023-03", 11, 38),
            ("2023-04", 20, 58),
        ]
        assert con.execute("select distinct grain from marts.cohort_periods").fetchall() == [("month",)]


def test_small_months_roll_up_to_quarters(tmp_path):
    # every month 4 or 5 patients (hidden), every quarter 13 to 15 (published)
    with _build(tmp_path, _months(2023, [5, 4, 5, 4, 5, 4, 5, 5, 4, 4, 5, 4])) as con:
        assert con.execute(PERIODS).fetchall() == [
            ("2023-Q1", 14, 14),
            ("2023-Q2", 13, 27),
            ("2023-Q3", 14, 41),
            ("2023-Q4", 13, 54),
        ]
        assert con.execute(
            "select first_month, last_month from marts.cohort_periods where period = '2023-Q2'"
        ).fetchall() == [("2023-04", "2023-06")]
        assert con.execute("select count_if(new_cramp_patients is null) from marts.cohort_monthly").fetchone() == (12,)


def test_small_quarters_roll_up_to_years_and_small_edges_merge(tmp_path):
    # 2 patients a month in 2019-2022 (quarters of 6: hidden; years of 24: published), and 3 patients in the last
    # year, 2023: alone it would be a hidden edge year, so it joins 2022
    per_month = {(y, m): 2 for y in range(2019, 2023) for m in range(1, 13)} | {(2023, 2): 3}
    with _build(tmp_path, per_month) as con:
        assert con.execute(PERIODS).fetchall() == [
            ("2019", 24, 24),
            ("2020", 24, 48),
            ("2021", 24, 72),
            ("2022–2023", 27, 99),
        ]
        assert con.execute(
            "select first_month, last_month from marts.cohort_periods where period = '2022–2023'"
        ).fetchall() == [("2022-01", "2023-12")]


def test_an_empty_cohort_has_no_periods(tmp_path):
    with _build(tmp_path, {}) as con:
        assert con.execute(PERIODS).fetchall() == []


# 2023: quarters of 30 with two hidden months, and Q3 (20, 3, 30) with exactly one; 2024: months of 20.
ONE_HIDDEN_MONTH = _months(2023, [5, 5, 20, 5, 5, 20, 20, 3, 30, 5, 5, 20]) | _months(2024, [20] * 12)


def test_a_period_holding_exactly_one_hidden_month_is_hidden(tmp_path):
    with _build(tmp_path, ONE_HIDDEN_MONTH) as con:
        periods = dict(con.execute("select period, new_cramp_patients from marts.cohort_periods").fetchall())
        assert con.execute("select distinct grain from marts.cohort_periods").fetchall() == [("quarter",)]
        # Q3 2023 (53) minus July (20) and September (30) would give August (3)
        assert periods["2023-Q3"] is None
        # ... and one more quarter hides with it, or the cohort minus the others would give Q3
        assert sum(v is None for v in periods.values()) == 2
        assert periods["2024-Q2"] == 60 and periods["2023-Q2"] == 30
        assert_disclosure_safe(con)


def test_the_audit_knows_a_period_is_the_sum_of_its_months(tmp_path):
    with _build(tmp_path, ONE_HIDDEN_MONTH) as con:
        model = load_model(con)
        q3 = [
            sorted(model.cells[c].label for c in row.coefs)
            for row in model.rows
            if row.relation == "a period's new patients are the sum of its months"
            and any("2023-Q3" in model.cells[c].label for c in row.coefs)
        ]
        assert q3 == [
            [
                "marts.cohort_monthly.new_cramp_patients [month=2023-07]",
                "marts.cohort_monthly.new_cramp_patients [month=2023-08]",
                "marts.cohort_monthly.new_cramp_patients [month=2023-09]",
                "marts.cohort_periods.new_cramp_patients [period=2023-Q3]",
            ]
        ]
        # Q3 2023 (53) published next to July (20) and September (30) gives August (3) away: the audit sees it
        con.execute(
            "update marts.cohort_periods set new_cramp_patients = 53, new_cramp_patients_suppressed = false "
            "where period = '2023-Q3'"
        )
        con.execute(
            "update marts.cohort_monthly set new_cramp_patients = 30, new_cramp_patients_suppressed = false "
            "where month = '2023-09'"
        )
        with pytest.raises(DisclosureError, match=r"marts\.cohort_monthly\.new_cramp_patients \[month=2023-08\]"):
            assert_disclosure_safe(con)
