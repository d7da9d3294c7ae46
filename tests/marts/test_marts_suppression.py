"""Small-cell suppression rules on hand-written cells: exact rows in, exact suppressed rows out."""

import duckdb
import pytest

from pipelines.marts.suppression import CountRule, CumulativeRule, RowSumRule, SuppressionSpec, suppress_into


@pytest.fixture
def con():
    with duckdb.connect() as c:
        yield c


def _run(con, rows_sql: str, spec: SuppressionSpec) -> list[tuple]:
    con.execute(f"create or replace temp table cells as {rows_sql}")
    suppress_into(con, "cells", "marts.out", spec)
    return con.execute("select * from marts.out").fetchall()


def test_primary_suppression_hides_one_to_ten_but_not_zero_or_eleven(con):
    rows = _run(
        con,
        "select * from (values ('a', 0), ('b', 1), ('c', 10), ('d', 11)) t(k, n)",
        SuppressionSpec(counts=(CountRule("n"),), order_by="k"),
    )
    assert rows == [("a", 0, False, False), ("b", None, True, True), ("c", None, True, True), ("d", 11, False, False)]


def test_lone_suppressed_cell_in_a_total_takes_the_next_smallest_non_zero_cell(con):
    # total 73 is published elsewhere: with only 3 hidden it would be 73 - 50 - 20 - 0 = 3
    rows = _run(
        con,
        "select * from (values ('a', 50), ('b', 3), ('c', 20), ('d', 0)) t(k, n)",
        SuppressionSpec(counts=(CountRule("n", totals=((),)),), order_by="k"),
    )
    assert [(k, n) for k, n, *_ in rows] == [("a", 50), ("b", None), ("c", None), ("d", 0)]


def test_a_zero_cell_is_hidden_when_no_non_zero_cell_is_left(con):
    # 95 of 100 hidden (its complement is 5); the other group has 0: the total 95 would give it away
    rows = _run(
        con,
        "select * from (values ('a', 95, 100), ('b', 0, 200)) t(k, n, d)",
        SuppressionSpec(counts=(CountRule("n", totals=((),), complement_of="d"),), order_by="k"),
    )
    assert [(k, n) for k, n, *_ in rows] == [("a", None), ("b", None)]


def test_two_suppressed_cells_need_no_complement(con):
    rows = _run(
        con,
        "select * from (values ('a', 50), ('b', 3), ('c', 4), ('d', 20)) t(k, n)",
        SuppressionSpec(counts=(CountRule("n", totals=((),)),), order_by="k"),
    )
    assert [n for _, n, *_ in rows] == [50, None, None, 20]


def test_complementary_suppression_runs_per_group(con):
    rows = _run(
        con,
        "select * from (values ('x', 1, 40), ('x', 2, 5), ('x', 3, 30), ('y', 1, 40), ('y', 2, 50)) t(g, k, n)",
        SuppressionSpec(counts=(CountRule("n", totals=(("g",),)),), order_by="g, k"),
    )
    assert [(g, k, n) for g, k, n, *_ in rows] == [
        ("x", 1, 40),
        ("x", 2, None),
        ("x", 3, None),
        ("y", 1, 40),
        ("y", 2, 50),
    ]


def test_margins_of_a_cross_table_are_protected_until_stable(con):
    # 2 x 2 table with both margins published: one small cell forces a rectangle of four hidden cells.
    rows = _run(
        con,
        "select * from (values (false, false, 100), (false, true, 4), (true, false, 60), (true, true, 30)) t(a, b, n)",
        SuppressionSpec(counts=(CountRule("n", totals=((), ("a",), ("b",))),), order_by="a, b"),
    )
    hidden = [(a, b) for a, b, n, *_ in rows if n is None]
    assert hidden == [(False, False), (False, True), (True, False), (True, True)]


def test_complement_of_a_published_denominator_is_protected(con):
    # 95 of 100 with a flag reveals 5 without it.
    rows = _run(
        con,
        "select * from (values ('f', 95, 100), ('g', 50, 100)) t(k, n, d)",
        SuppressionSpec(counts=(CountRule("n", complement_of="d"), CountRule("d")), order_by="k"),
    )
    assert [(k, n, d) for k, n, d, *_ in rows] == [("f", None, 100), ("g", 50, 100)]


def test_row_sum_parts_get_a_complement_inside_the_row(con):
    rows = _run(
        con,
        "select * from (values ('b1', 1003, 900, 3, 100), ('b2', 500, 480, 0, 20)) t(k, total, p1, p2, p3)",
        SuppressionSpec(
            counts=(CountRule("total"), CountRule("p1"), CountRule("p2"), CountRule("p3")),
            row_sums=(RowSumRule("total", ("p1", "p2", "p3")),),
            order_by="k",
        ),
    )
    assert [r[:5] for r in rows] == [("b1", 1003, 900, None, None), ("b2", 500, 480, 0, 20)]


def test_running_total_is_only_published_where_it_reveals_no_single_hidden_increment(con):
    # increments 20, 3(hidden), 30, 4(hidden), 25: cumulative 20, 23, 53, 57, 82
    rows = _run(
        con,
        "select * from (values (1, 20, 20), (2, 3, 23), (3, 30, 53), (4, 4, 57), (5, 25, 82)) t(m, n, cum)",
        SuppressionSpec(
            counts=(CountRule("n", totals=((),)),),
            cumulative=(CumulativeRule("cum", increments="n", order_by="m"),),
            order_by="m",
        ),
    )
    published = {m: cum for m, n, cum, *_ in rows}
    # 23 - 20 or 53 - 20 - 30 would give the hidden 3: months 2 and 3 are hidden, 4 and 5 show the sum 7
    assert published == {1: 20, 2: None, 3: None, 4: 57, 5: 82}
    increments = {m: n for m, n, *_ in rows}
    assert increments == {1: 20, 2: None, 3: 30, 4: None, 5: 25}
