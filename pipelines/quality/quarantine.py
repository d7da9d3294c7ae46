"""Row-level outcome of error checks: failing rows leave `staging.<table>` for `quarantine.rows`, the rest load.

A row is identified by its lineage (`_batch_id`, `_source_line`; the table names the file), so a check written
as SQL (`select t.* from {batch} t ...`) becomes a predicate over the staging row by matching those columns.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

from pipelines.ingest.reconciliation import refresh_reconciliation
from pipelines.ingest.storage import ensure_quarantine_table
from pipelines.quality.suites import ExpectationDef
from pipelines.sql_runner import quote_literal, table_exists, transaction

LINEAGE = ("_batch_id", "_source_line")


def row_predicate(expectation: ExpectationDef, table: str, schema: str = "staging") -> str | None:
    """A SQL condition over the staging row (alias `t`) true for rows failing a row-level expectation."""
    kw = expectation.kwargs
    col = f't."{kw["column"]}"' if "column" in kw else None
    kind = expectation.type
    if kind == "expect_column_values_to_not_be_null" and col:
        return f"{col} is null"
    if kind == "expect_column_values_to_be_in_set" and col:
        values = ", ".join(_literal(v) for v in kw["value_set"])
        return f"{col} is not null and {col} not in ({values})"
    if kind == "expect_column_values_to_be_between" and col:
        parts = []
        if kw.get("min_value") is not None:
            parts.append(f"{col} {'<=' if kw.get('strict_min') else '<'} {_literal(kw['min_value'])}")
        if kw.get("max_value") is not None:
            parts.append(f"{col} {'>=' if kw.get('strict_max') else '>'} {_literal(kw['max_value'])}")
        return " or ".join(parts) or None
    if kind == "unexpected_rows_expectation":
        query = kw["unexpected_rows_query"].replace("{batch}", f"{schema}.{table}")
        query = query.replace("{{", "{").replace("}}", "}")
        match = " and ".join(f"q.{c} = t.{c}" for c in LINEAGE)
        return f"exists (select 1 from ({query}) q where {match})"
    return None  # uniqueness and table-level expectations have no single failing row to move


def quarantine_failing_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    predicates: Mapping[str, str],
    detail: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Moves rows of `staging.<table>` matching any predicate (check name -> SQL condition over alias `t`) to
    `quarantine.rows` (reason = the first matching check, stage `validation`), then recomputes
    `dq.batch_reconciliation` for the table, all in one transaction. Returns rows moved per check.

    Staging is rebuilt from raw on every run, so rows quarantined by an earlier run come back: their old
    validation records are dropped first and re-written only if they still fail (a fixed suite releases
    them)."""
    detail = detail or {}
    con.execute("create schema if not exists quarantine")
    ensure_quarantine_table(con)
    names = list(predicates)
    reason = "case " + " ".join(f"when {predicates[n]} then {_literal(n)}" for n in names) + " end"
    where = " or ".join(f"({predicates[n]})" for n in names) or "false"
    has_raw = table_exists(con, f"raw.{table}")
    raw_json = (
        f"(select to_json(r) from raw.{table} r where r._batch_id = f._batch_id "
        f"and r._source_line = f._source_line limit 1)::varchar"
        if has_raw
        else "null"
    )
    detail_sql = (
        "case f.reason_code "
        + " ".join(f"when {_literal(n)} then {_literal(detail.get(n, 'failed validation check ' + n))}" for n in names)
        + " end"
        if names
        else "null"
    )
    with transaction(con):
        con.execute(
            f"""delete from quarantine.rows q
            where q.stage = 'validation' and q.source_file = {_literal(table + ".csv")}
              and exists (select 1 from staging.{table} t where t._batch_id = q.batch_id
                          and t._source_line = q.source_line)"""
        )
        con.execute(
            f"""create or replace temp table _dq_failing as
            select t._batch_id, t._source_line, {reason if names else "null"} as reason_code,
                   to_json(t)::varchar as staged_record
            from staging.{table} t
            where {where}"""
        )
        con.execute(
            f"""insert into quarantine.rows
            select f._batch_id, {_literal(table + ".csv")}, f._source_line, f.reason_code, {detail_sql},
                   coalesce({raw_json}, f.staged_record), 'validation', now()::timestamp
            from _dq_failing f"""
        )
        con.execute(
            f"""delete from staging.{table} t using _dq_failing f
            where t._batch_id = f._batch_id
              and t._source_line = f._source_line"""
        )
        moved = dict(con.execute("select reason_code, count(*) from _dq_failing group by 1").fetchall())
        con.execute("drop table temp._dq_failing")
        refresh_reconciliation(con, table)
    return {n: int(moved.get(n, 0)) for n in names}



def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return quote_literal(value)
