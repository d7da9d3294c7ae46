"""The numbers behind data_quality.html, queried from dq.check_results, quarantine.rows, dq.batch_reconciliation.

Only counts, check names, file names and line numbers leave the database: never raw records or patient ids.
"""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines import EXPECTATIONS_DIR
from pipelines.contract.dqd import DQD_CATEGORIES, dqd_place
from pipelines.contract.suites import ExpectationDef, load_suites
from pipelines.reports.dq_drilldown import failing_values
from pipelines.warehouse import table_exists

# dq.check_results.checked_at is UTC without a zone (the warehouse's convention): shown with it.
_UTC = "strftime({}, '%Y-%m-%d %H:%M:%S UTC')"
STATUS_ORDER = {"fail": 0, "not_applicable": 1, "pass": 2}
SEVERITY_ORDER = {"error": 0, "warn": 1}


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def collect(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    has_checks = table_exists(con, "dq.check_results")
    has_quarantine = table_exists(con, "quarantine.rows")
    has_recon = table_exists(con, "dq.batch_reconciliation")
    runs = (
        _rows(
            con,
            f"""select run_id, max(batch_id) as batch_id, {_UTC.format("min(checked_at)")} as checked_at,
                      count(*) as checks,
                      count(*) filter (where status = 'fail') as failed,
                      count(*) filter (where status = 'not_applicable') as not_applicable,
                      count(*) filter (where status = 'fail' and severity = 'error') as failed_errors
               from dq.check_results group by run_id order by min(checked_at), run_id""",
        )
        if has_checks
        else []
    )
    latest = runs[-1] if runs else None
    previous = runs[-2] if len(runs) > 1 else None
    data: dict[str, Any] = {"runs": runs, "latest": latest, "previous": previous}
    data["checks"] = _run_checks(con, latest["run_id"]) if latest else []
    # Tables downstream of a blocking failure are not validated in that run: say so rather than look clean.
    all_tables = (
        {r[0] for r in con.execute("select distinct table_name from dq.check_results").fetchall()}
        if has_checks
        else set()
    )
    data["not_validated"] = sorted(all_tables - {c["table_name"] for c in data["checks"]})
    data["categories"] = _by_category(data["checks"])
    data["batches"] = _batch_summary(con, has_checks, has_quarantine, has_recon)
    data["trend"] = _trend(con) if has_checks else []
    data["quarantine_reasons"] = (
        _rows(
            con,
            """select reason_code, stage, count(*) as row_count, count(distinct batch_id) as batches,
                      list('batch ' || batch_id || ': ' || source_file || ':' || source_line::varchar
                           order by batch_id desc, source_file, source_line)[1:5] as examples
               from quarantine.rows group by reason_code, stage order by row_count desc, reason_code limit 20""",
        )
        if has_quarantine
        else []
    )
    data["reconciliation"] = (
        _rows(
            con,
            """select batch_id, source_file, rows_read, rows_loaded, rows_quarantined, rows_superseded,
                      coalesce(balanced, rows_read = rows_loaded + rows_quarantined + rows_superseded) as balanced
               from dq.batch_reconciliation order by batch_id, source_file""",
        )
        if has_recon
        else []
    )
    data["new_failures"], data["resolved_failures"], data["still_failing"] = _compare(data["checks"], con, previous)
    _drill_down(con, data["checks"])
    data["check_trend"] = _check_trend(con) if has_checks else []
    return data


def _run_checks(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """The run's checks, failures first (blocking before warnings), then not applicable, then passes."""
    rows = _rows(
        con,
        """select table_name, check_name, kahn_category, severity, status, failing_rows, total_rows,
                  threshold, failing_pct, rows_quarantined, explanation, detail, batch_id
           from dq.check_results where run_id = ?
           order by table_name, check_name""",
        [run_id],
    )
    suites = load_suites(EXPECTATIONS_DIR)
    for row in rows:
        expectation = _expectation(suites, row["table_name"], row["check_name"])
        place = dqd_place(row["kahn_category"], row["check_name"], expectation.meta if expectation else None)
        row["category"], row["subcategory"], row["context"] = place.category, place.subcategory, place.context
        row["failing_values"] = None
    return sorted(rows, key=lambda r: (STATUS_ORDER.get(r["status"], 9), SEVERITY_ORDER.get(r["severity"], 9)))


def _expectation(suites: dict, table: str, check: str) -> ExpectationDef | None:
    suite = suites.get(table)
    return next((e for e in suite.expectations if e.check_name == check), None) if suite else None


def _drill_down(con: duckdb.DuckDBPyConnection, checks: list[dict[str, Any]]) -> None:
    """The failing values of each failing check of the latest run (never ids or records: `dq_drilldown`)."""
    suites = load_suites(EXPECTATIONS_DIR)
    for row in checks:
        if row["status"] != "fail" or not row["failing_rows"]:
            continue
        expectation = _expectation(suites, row["table_name"], row["check_name"])
        if expectation is None:
            continue
        try:
            row["failing_values"] = failing_values(con, expectation, row["table_name"])
        except duckdb.Error as exc:  # the report must still be written: say why the values are missing
            row["detail"] = f"{row['detail'] or ''} (failing values not listed: {str(exc).splitlines()[0][:200]})"


def _check_trend(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Failing share per run of every check that failed in any run, oldest run first."""
    return _rows(
        con,
        f"""with ever_failed as (
               select distinct table_name, check_name from dq.check_results where status = 'fail'
           )
           select c.table_name, c.check_name, c.run_id, c.batch_id, {_UTC.format("c.checked_at")} as checked_at,
                  c.status, c.failing_rows, c.total_rows, c.failing_pct, c.threshold
           from dq.check_results c
           inner join ever_failed using (table_name, check_name)
           order by c.table_name, c.check_name, c.checked_at, c.run_id""",
    )


def _by_category(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Checks per DQD category and subcategory: passed, failed, not applicable, failing rows."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for c in checks:
        row = out.setdefault(
            (c["category"], c["subcategory"]),
            {
                "category": c["category"],
                "subcategory": c["subcategory"],
                "passed": 0,
                "failed": 0,
                "not_applicable": 0,
                "failing_rows": 0,
            },
        )
        row[{"pass": "passed", "not_applicable": "not_applicable"}.get(c["status"], "failed")] += 1
        row["failing_rows"] += c["failing_rows"] or 0
    return [out[k] for k in sorted(out, key=lambda k: (DQD_CATEGORIES.index(k[0]), k[1]))]


def _batch_summary(con: duckdb.DuckDBPyConnection, has_checks: bool, has_q: bool, has_r: bool) -> list[dict]:
    if not has_checks:
        return []
    rows = _rows(
        con,
        f"""with last_run as (
               select batch_id, arg_max(run_id, checked_at) as run_id from dq.check_results group by batch_id
           )
           select r.batch_id, r.run_id, count(*) as checks,
                  count(*) filter (where c.status = 'not_applicable') as not_applicable,
                  count(*) filter (where c.status = 'pass') as passed,
                  count(*) filter (where c.status = 'fail' and c.severity = 'error') as failed_errors,
                  count(*) filter (where c.status = 'fail' and c.severity = 'warn') as failed_warnings,
                  {_UTC.format("min(c.checked_at)")} as checked_at
           from last_run r join dq.check_results c on c.run_id = r.run_id and c.batch_id = r.batch_id
           group by r.batch_id, r.run_id order by min(c.checked_at)""",
    )
    quarantined = (
        dict(con.execute("select batch_id, count(*) from quarantine.rows group by 1").fetchall()) if has_q else {}
    )
    recon = (
        {
            b: (r, ld)
            for b, r, ld in con.execute(
                "select batch_id, sum(rows_read), sum(rows_loaded) from dq.batch_reconciliation group by 1"
            ).fetchall()
        }
        if has_r
        else {}
    )
    for row in rows:
        row["rows_quarantined"] = quarantined.get(row["batch_id"], 0)
        row["rows_read"], row["rows_loaded"] = recon.get(row["batch_id"], (None, None))
    return rows


def _trend(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return _rows(
        con,
        f"""select run_id, max(batch_id) as batch_id, {_UTC.format("min(checked_at)")} as checked_at,
                  count(*) filter (where status = 'fail' and kahn_category = 'conformance') as conformance,
                  count(*) filter (where status = 'fail' and kahn_category = 'completeness') as completeness,
                  count(*) filter (where status = 'fail' and kahn_category = 'plausibility') as plausibility,
                  count(*) filter (where status = 'fail' and kahn_category = 'uniqueness') as uniqueness,
                  count(*) filter (where status = 'fail' and kahn_category = 'referential') as referential,
                  sum(coalesce(failing_rows, 0)) as failing_rows
           from dq.check_results group by run_id order by min(checked_at), run_id""",
    )


def _compare(latest: list[dict], con: duckdb.DuckDBPyConnection, previous: dict | None) -> tuple[list, list, list]:
    # A check absent from the latest run (its table was blocked upstream) is neither new nor resolved.
    if previous is None:
        return [], [], []
    before = {(c["table_name"], c["check_name"]): c for c in _run_checks(con, previous["run_id"])}
    now = {(c["table_name"], c["check_name"]): c for c in latest}
    new = [c for k, c in now.items() if c["status"] == "fail" and (k not in before or before[k]["status"] != "fail")]
    resolved = [c for k, c in now.items() if c["status"] == "pass" and k in before and before[k]["status"] == "fail"]
    still = [c for k, c in now.items() if c["status"] == "fail" and k in before and before[k]["status"] == "fail"]
    return new, resolved, still
