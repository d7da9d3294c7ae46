"""The numbers behind data_quality.html, queried from dq.check_results, quarantine.rows, dq.batch_reconciliation.

Only counts, check names, file names and line numbers leave the database: never raw records or patient ids.
"""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines.warehouse import table_exists


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
            """select run_id, max(batch_id) as batch_id, min(checked_at) as checked_at, count(*) as checks,
                      count(*) filter (where status = 'fail') as failed,
                      count(*) filter (where status = 'fail' and severity = 'error') as failed_errors
               from dq.check_results group by run_id order by checked_at, run_id""",
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
    data["kahn"] = _by_category(data["checks"])
    data["batches"] = _batch_summary(con, has_checks, has_quarantine, has_recon)
    data["trend"] = _trend(con) if has_checks else []
    data["quarantine_reasons"] = (
        _rows(
            con,
            """select reason_code, stage, count(*) as row_count, count(distinct batch_id) as batches,
                      list(source_file || ':' || source_line::varchar
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
    return data


def _run_checks(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    return _rows(
        con,
        """select table_name, check_name, kahn_category, severity, status, failing_rows, total_rows,
                  threshold, failing_pct, rows_quarantined, explanation, batch_id
           from dq.check_results where run_id = ?
           order by kahn_category, status, severity, table_name, check_name""",
        [run_id],
    )


def _by_category(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for c in checks:
        row = out.setdefault(
            c["kahn_category"],
            {"kahn_category": c["kahn_category"], "passed": 0, "failed": 0, "failing_rows": 0},
        )
        row["passed" if c["status"] == "pass" else "failed"] += 1
        row["failing_rows"] += c["failing_rows"] or 0
    return [out[k] for k in sorted(out)]


def _batch_summary(con: duckdb.DuckDBPyConnection, has_checks: bool, has_q: bool, has_r: bool) -> list[dict]:
    if not has_checks:
        return []
    rows = _rows(
        con,
        """with last_run as (
               select batch_id, arg_max(run_id, checked_at) as run_id from dq.check_results group by batch_id
           )
           select r.batch_id, r.run_id, count(*) as checks,
                  count(*) filter (where c.status = 'pass') as passed,
                  count(*) filter (where c.status = 'fail' and c.severity = 'error') as failed_errors,
                  count(*) filter (where c.status = 'fail' and c.severity = 'warn') as failed_warnings,
                  min(c.checked_at) as checked_at
           from last_run r join dq.check_results c on c.run_id = r.run_id and c.batch_id = r.batch_id
           group by r.batch_id, r.run_id order by checked_at""",
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
        """select run_id, max(batch_id) as batch_id, min(checked_at) as checked_at,
                  count(*) filter (where status = 'fail' and kahn_category = 'conformance') as conformance,
                  count(*) filter (where status = 'fail' and kahn_category = 'completeness') as completeness,
                  count(*) filter (where status = 'fail' and kahn_category = 'plausibility') as plausibility,
                  count(*) filter (where status = 'fail' and kahn_category = 'uniqueness') as uniqueness,
                  count(*) filter (where status = 'fail' and kahn_category = 'referential') as referential,
                  sum(coalesce(failing_rows, 0)) as failing_rows
           from dq.check_results group by run_id order by checked_at, run_id""",
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
