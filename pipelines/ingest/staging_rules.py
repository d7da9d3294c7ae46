"""The data-quality rules the staging build applies: error-level row checks of the suites that no staging SQL rule
already enforces (today `encounters_stop_not_before_start`, and whatever a site adds).

A rule is the check's condition turned into a SQL predicate over the staging row (alias `t`). The staging build
applies the rules after it has picked the newest row per natural key, moves the failing rows to quarantine (stage
`validation`, reason = the check name) and records what each rule judged and removed in `dq.staging_rule_counts`;
the check itself then measures that record. A row is identified by its lineage (`_batch_id`, `_source_line`), so a
check written as SQL (`select t.* from {batch} t ...`) becomes a predicate by matching those columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.contract.suites import ExpectationDef, Suite
from pipelines.warehouse import quote_literal

LINEAGE = ("_batch_id", "_source_line")


@dataclass(frozen=True)
class RowRule:
    check_name: str
    predicate: str  # SQL over the staging row `t`; `{table}` is the table being judged
    detail: str  # the reason_detail of a quarantined row

    def over(self, table: str) -> str:
        return self.predicate.replace("{table}", table)


def rule_flags(rules: tuple[RowRule, ...]) -> list[str]:
    """The boolean column judging each rule (`_rule_<i>`, in suite order)."""
    return [f"_rule_{i}" for i in range(len(rules))]


def collect_rule_failures(
    con: duckdb.DuckDBPyConnection, failing: str, records: str, rules: tuple[RowRule, ...]
) -> None:
    """Temp `_rule_failures`, one row per staged row failing a rule, whichever engine judged it: its lineage, the
    flag of each rule, the first rule it fails (reason code and detail) and its staged record as JSON.

    `failing` holds the lineage and the flags of the failing rows; `records` the rows as staged (lineage included,
    no flags), whose JSON DuckDB writes, so a record reads the same on both engines.
    """
    flags = rule_flags(rules)
    first = " ".join(f"when {flag} then ?" for flag in flags)
    con.execute(
        f"""
        create or replace temp table _rule_failures as
        select
            failing._batch_id,
            failing._source_line,
            {", ".join(f"failing.{flag}" for flag in flags)},
            case {first} end as reason_code,
            case {first} end as reason_detail,
            to_json(t)::varchar as staged_record,
        from {failing} as failing
        join {records} as t
            using (_batch_id, _source_line)
        """,
        [rule.check_name for rule in rules] + [rule.detail for rule in rules],
    )


def staging_rules(suite: Suite | None) -> tuple[RowRule, ...]:
    """The rules of a table's suite, in suite order (a row failing several is quarantined for the first)."""
    if suite is None:
        return ()
    rules = []
    for expectation in suite.expectations:
        if expectation.severity != "error" or not expectation.quarantine or expectation.staging_rule:
            continue
        predicate = row_predicate(expectation)
        if predicate is not None:
            rules.append(RowRule(expectation.check_name, predicate, expectation.explanation))
    return tuple(rules)


def row_predicate(expectation: ExpectationDef) -> str | None:
    """A SQL condition over the staging row (alias `t`) true for rows failing a row-level expectation; None for
    expectations about the table (columns, types) or about several rows at once (uniqueness)."""
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
        query = kw["unexpected_rows_query"].replace("{batch}", "{table}")
        query = query.replace("{{", "{").replace("}}", "}")  # GX formats the query: braces come doubled
        match = " and ".join(f"q.{c} = t.{c}" for c in LINEAGE)
        return f"exists (select 1 from ({query}) q where {match})"
    return None


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return quote_literal(value)
