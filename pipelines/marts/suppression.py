"""Small-cell suppression of mart counts (docs/outputs.md: counts 1-10 are stored NULL and shown as `<11`).

A mart SQL file computes exact counts into a temporary table (in memory, never in the warehouse file);
`suppress_into` copies it into `marts.<table>` with every count column that needs it set to NULL and a
`<column>_suppressed` marker plus a row-level `suppressed` marker.

Two kinds of suppression:
- primary: the count is 1..10, or (optionally) its complement within a published denominator is 1..10
  (95 of 100 with a flag reveals 5 without it);
- complementary: inside a group of cells whose sum is published elsewhere (a "total"), a single suppressed
  cell could be recovered by subtraction, so the next smallest non-zero cell is suppressed too (a zero cell when
  no other is left: the hidden cell is then no longer the total of the group). Passes repeat
  until nothing changes, because a cell sits in several totals (rows and margins of a cross-table).
A running total (cohort size per month) gets its own rule, see `_suppress_cumulative`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

SMALL_MIN = 1
SMALL_MAX = 10
SUPPRESSED_LABEL = "<11"


@dataclass(frozen=True)
class CountRule:
    """How one count column of a mart is suppressed."""

    column: str
    # Partitions (column lists) whose cells add up to a published total; () = the whole table.
    totals: tuple[tuple[str, ...], ...] = ()
    # Optional published denominator column: a small complement (denominator - count) is suppressed too.
    complement_of: str | None = None
    # A filter limiting which rows the complement rule applies to (SQL boolean expression).
    complement_when: str = "true"
    # Rows whose count is hidden whatever its size (SQL boolean expression over the source's columns).
    also_hide_when: str | None = None


@dataclass(frozen=True)
class CumulativeRule:
    """A running total over ordered rows whose increments are another (suppressed) count column."""

    column: str
    increments: str
    order_by: str


@dataclass(frozen=True)
class RowSumRule:
    """Count columns of one row that add up to another published column of that row."""

    total: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class SuppressionSpec:
    counts: tuple[CountRule, ...]
    cumulative: tuple[CumulativeRule, ...] = field(default_factory=tuple)
    row_sums: tuple[RowSumRule, ...] = field(default_factory=tuple)
    # Stable tie-break for choosing the "next smallest" cell.
    order_by: str = "1"


def suppress_into(con: duckdb.DuckDBPyConnection, source: str, target: str, spec: SuppressionSpec) -> int:
    """Writes `target` (`schema.table`, or a bare name for a temp table) from exact counts in `source`, suppressed
    per `spec`; returns the row count."""
    work = "_suppression_work"
    con.execute(f"create or replace temp table {work} as select * from {source}")
    for rule in spec.counts:
        _primary(con, work, rule)
    _complementary(con, work, spec)
    for rule in spec.cumulative:
        _suppress_cumulative(con, work, rule)
    markers = [f"{r.column}_suppressed" for r in spec.counts] + [f"{r.column}_suppressed" for r in spec.cumulative]
    nulls = ",\n".join(
        f"case when {m} then null else {m.removesuffix('_suppressed')} end as {m.removesuffix('_suppressed')}"
        for m in markers
    )
    if "." in target:
        con.execute(f"create schema if not exists {target.split('.')[0]}")
        kind = "table"
    else:
        kind = "temp table"  # a trial (the rolled-up series tries each grain): never in the warehouse file
    con.execute(
        f"create or replace {kind} {target} as\n"
        f"select * replace ({nulls}),\n({' or '.join(markers)}) as suppressed\nfrom {work}\n"
        f"order by {spec.order_by}"
    )
    con.execute(f"drop table {work}")
    return con.execute(f"select count(*) from {target}").fetchone()[0]


def _primary(con: duckdb.DuckDBPyConnection, work: str, rule: CountRule) -> None:
    col = rule.column
    small = f"coalesce({col} between {SMALL_MIN} and {SMALL_MAX}, false)"
    if rule.complement_of:
        diff = f"({rule.complement_of} - {col})"
        small += f" or coalesce(({rule.complement_when}) and {diff} between {SMALL_MIN} and {SMALL_MAX}, false)"
    if rule.also_hide_when:
        small += f" or coalesce({rule.also_hide_when}, false)"
    con.execute(f"alter table {work} add column {col}_suppressed boolean")
    con.execute(f"update {work} set {col}_suppressed = ({small})")


def _complementary(con: duckdb.DuckDBPyConnection, work: str, spec: SuppressionSpec) -> None:
    # Each pass suppresses at most one extra cell per lone-suppressed group; repeat to a fixed point.
    for _ in range(100):
        changed = 0
        for rule in spec.counts:
            for partition in rule.totals:
                changed += _complementary_pass(con, work, rule.column, partition, spec.order_by)
        for row_sum in spec.row_sums:
            changed += _row_sum_pass(con, work, row_sum)
        if changed == 0:
            return
    raise RuntimeError(f"complementary suppression did not converge on {work}")


def _complementary_pass(
    con: duckdb.DuckDBPyConnection, work: str, col: str, partition: tuple[str, ...], order_by: str
) -> int:
    part = f"partition by {', '.join(partition)}" if partition else ""
    flag = f"{col}_suppressed"
    candidates = f"""
        with ranked as (
            select
                rowid as row_id,
                count_if({flag}) over ({part}) as suppressed_in_group,
                -- next smallest non-zero cell; a zero cell only when no non-zero cell is left
                row_number() over (
                    {part}
                    order by {flag}, coalesce({col}, 0) = 0, {col}, {order_by}
                ) as candidate_rank,
                {flag} as already,
            from {work}
        )
        select row_id
        from ranked
        where suppressed_in_group = 1 and candidate_rank = 1 and not already
    """
    rows = con.execute(candidates).fetchall()
    if rows:
        ids = ", ".join(str(r[0]) for r in rows)
        con.execute(f"update {work} set {flag} = true where rowid in ({ids})")
    return len(rows)


def _row_sum_pass(con: duckdb.DuckDBPyConnection, work: str, rule: RowSumRule) -> int:
    """Within a row, a lone suppressed part equals the total minus the others: hide the smallest other part."""
    flags = [f"{p}_suppressed" for p in rule.parts]
    lone = f"({' + '.join(f'{f}::integer' for f in flags)}) = 1"
    changed = 0
    for part, flag in zip(rule.parts, flags, strict=True):
        others = [p for p in rule.parts if p != part]
        # `part` is the smallest non-zero unsuppressed part (ties: earlier in the list wins).
        smaller = " and ".join(
            f"({o}_suppressed or coalesce({o}, 0) = 0 or {o} > {part}"
            f"{' or ' + o + ' = ' + part if rule.parts.index(o) > rule.parts.index(part) else ''})"
            for o in others
        )
        n = con.execute(
            f"update {work} set {flag} = true where {lone} and not {flag} and coalesce({part}, 0) > 0 and {smaller}"
        ).fetchone()[0]
        changed += n
    return changed


def _suppress_cumulative(con: duckdb.DuckDBPyConnection, work: str, rule: CumulativeRule) -> None:
    """A running total reveals the increments between any two published points.

    With k suppressed increments and c(m) of them at or before row m, two published points m1 < m2 reveal
    the sum of the suppressed increments between them, which is safe only if there are 0 or at least 2 of
    them. Publishing the running total only where c(m) is even (and not one short of k), or where c(m) = k,
    keeps every gap between published points (including the start, 0, and the grand total) at 0 or >= 2.
    """
    col, inc = rule.column, rule.increments
    con.execute(f"alter table {work} add column {col}_suppressed boolean")
    con.execute(
        f"""
        update {work} as w
        set {col}_suppressed = s.hide
        from (
            select
                row_id,
                coalesce({col} between {SMALL_MIN} and {SMALL_MAX}, false)
                    or not (
                        (c % 2 = 0 and k - c <> 1)
                        or c = k
                    ) as hide,
            from (
                select
                    *,
                    rowid as row_id,
                    sum({inc}_suppressed::integer) over (order by {rule.order_by}) as c,
                    sum({inc}_suppressed::integer) over () as k,
                from {work}
            )
        ) as s
        where w.rowid = s.row_id
        """
    )
