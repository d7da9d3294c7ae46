"""What failed, never who: for a failing check, the values behind its failing rows and how many rows carry each.

An `expect_column_values_to_be_in_set` check shows the values of its column outside the set (unit strings, code
systems, sex codes as delivered); a SQL check shows what its suite declares in `meta.drill_down` (categorical
expressions over the failing rows: a lab code and the unit as delivered, a code's format). Nothing else of a row
leaves the database: no patient or encounter ids, no dates, no free text, no raw record. The values are those of
staging now (the latest batch's view), counted in rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from pipelines.contract.suites import ExpectationDef
from pipelines.warehouse import table_exists

TOP_VALUES = 10
# Columns never shown, whatever a suite declares: identifiers, dates and free text of a row.
_NEVER_SHOWN = re.compile(
    r"\b(\w*_id|id|birth\w*|death\w*|\w*_date|\w*_at|description|value_text|reason\w*|raw_record|first|last|"
    r"ssn|address|name)\b",
    re.I,
)


@dataclass(frozen=True)
class FailingValues:
    labels: tuple[str, ...]  # what each value column is ("unit as delivered")
    rows: tuple[tuple[tuple[str, ...], int], ...]  # (values, rows carrying them), most frequent first
    more: int  # further distinct values not listed


def failing_values(con: duckdb.DuckDBPyConnection, expectation: ExpectationDef, table: str) -> FailingValues | None:
    """The most frequent values of the failing rows, or None when the check declares nothing to show."""
    source = f"staging.{table}"
    if not table_exists(con, source):
        return None
    if expectation.type == "expect_column_values_to_be_in_set" and expectation.column:
        column = expectation.column
        if _NEVER_SHOWN.search(column):
            return None
        failing = (
            f"select * from {source} where {column} is not null and not list_contains(?::varchar[], {column}::varchar)"
        )
        return _top(con, failing, {column: column}, [list(expectation.kwargs.get("value_set") or [])])
    drill = expectation.meta.get("drill_down")
    query = expectation.kwargs.get("unexpected_rows_query")
    if expectation.type == "unexpected_rows_expectation" and drill and query:
        if any(_NEVER_SHOWN.search(sql) for sql in dict(drill).values()):
            return None  # a declaration naming an identifier, a date or free text is not followed
        # the query as Great Expectations runs it: `{batch}` is the table, doubled braces are str.format escapes
        failing = query.replace("{batch}", source).replace("{{", "{").replace("}}", "}")
        return _top(con, failing, dict(drill), [])
    return None


def _top(con: duckdb.DuckDBPyConnection, failing: str, expressions: dict[str, str], params: list) -> FailingValues:
    values = ", ".join(f"coalesce(({sql})::varchar, '(empty)') as v{i}" for i, sql in enumerate(expressions.values()))
    keys = ", ".join(f"v{i}" for i in range(len(expressions)))
    rows = con.execute(
        f"select {keys}, count(*) as n, count(*) over () as distinct_values "
        f"from (select {values} from ({failing})) group by {keys} order by n desc, {keys} limit {TOP_VALUES}",
        params,
    ).fetchall()
    n = len(expressions)
    distinct = rows[0][n + 1] if rows else 0
    return FailingValues(
        tuple(expressions),
        tuple((tuple(row[:n]), int(row[n])) for row in rows),
        max(0, distinct - len(rows)),
    )
