"""The rolled-up new-patient series (`marts.cohort_periods`): the finest of month, quarter and year whose cells
the small-cell rule mostly publishes.

At a cohort of a few hundred patients nearly every month holds 1 to 10 new patients, so a monthly chart is all
hidden cells. The build tries each grain on the exact counts (temp tables of the build connection, never the
warehouse file), suppresses it with the mart's own rules and keeps the finest grain whose hidden periods are at
most `MAX_HIDDEN_SHARE` of the periods that have patients: periods of published zeros do not count, since a series
of zeros around hidden months is no chart at all. Only the chosen grain is published, and the disclosure audit is
told that each period is the sum of its months of `marts.cohort_monthly` (`specs.py`), so a period can never give
away a hidden month.
"""

from __future__ import annotations

import duckdb

from pipelines.marts.suppression import SMALL_MAX, SMALL_MIN, SuppressionSpec, suppress_into
from pipelines.warehouse import read_sql

GRAINS = ("month", "quarter", "year")
_STEPS = {"month": "1 month", "quarter": "3 months", "year": "1 year"}
# A chart where more than a quarter of the bars are "<11" stubs reads as missing data; the next grain is tried.
MAX_HIDDEN_SHARE = 0.25
_TRIAL = "_cohort_periods_trial"
MONTHLY_MART = "marts.cohort_monthly"


def period_sql_params(grain: str) -> dict[str, object]:
    """The placeholders of sql/marts/cohort_periods.sql for one grain."""
    return {
        "grain": grain,
        "step": _STEPS[grain],
        "small_min": SMALL_MIN,
        "small_max": SMALL_MAX,
        # a placeholder, not a `from marts.…` the dependency scan would read as an input of the marts build
        "monthly_mart": MONTHLY_MART,
    }


def hidden_share(con: duckdb.DuckDBPyConnection, suppressed_table: str) -> tuple[int, int]:
    """(hidden periods, periods that have patients: hidden or published above zero) of a suppressed series."""
    hidden, with_patients = con.execute(
        "select coalesce(count_if(new_cramp_patients_suppressed), 0), "
        "coalesce(count_if(new_cramp_patients_suppressed or new_cramp_patients > 0), 0) "
        f"from {suppressed_table}"
    ).fetchone()
    return hidden, with_patients


def choose_grain(con: duckdb.DuckDBPyConnection, suppression: SuppressionSpec) -> str:
    """The finest grain whose suppressed series hides at most `MAX_HIDDEN_SHARE` of its periods with patients
    (the coarsest when none does)."""
    for grain in GRAINS:
        sql = read_sql("marts/cohort_periods.sql", **period_sql_params(grain)).strip().rstrip(";")
        con.execute(f"create or replace temp table {_TRIAL}_exact as\n{sql}")
        suppress_into(con, f"{_TRIAL}_exact", _TRIAL, suppression)
        hidden, with_patients = hidden_share(con, _TRIAL)
        con.execute(f"drop table {_TRIAL}_exact")
        con.execute(f"drop table {_TRIAL}")
        if hidden <= MAX_HIDDEN_SHARE * with_patients:
            return grain
    return GRAINS[-1]
