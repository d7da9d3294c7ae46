"""Staging's text and number normalization (sql/staging/_macros.sql), value by value."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.warehouse import read_sql

# Unicode White_Space: what "trimmed" means for codes, units, SYSTEM and sex
WHITE_SPACE_POINTS = [*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F]
WHITE_SPACE = "".join(map(chr, [*WHITE_SPACE_POINTS, 0x205F, 0x3000]))


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(read_sql("staging/_macros.sql"))
    yield connection
    connection.close()


def one(con: duckdb.DuckDBPyConnection, sql: str, value: str | None) -> object:
    return con.execute(f"select {sql}", [value]).fetchone()[0]


@pytest.mark.parametrize("space", list(WHITE_SPACE), ids=lambda c: f"U+{ord(c):04X}")
def test_every_kind_of_white_space_is_trimmed(con: duckdb.DuckDBPyConnection, space: str) -> None:
    assert one(con, "clean_text(?)", f"{space}R25.2{space}{space}") == "R25.2"
    assert one(con, "normalize_code('ICD10CM', ?)", f"r25.2{space}") == "R252"
    assert one(con, "system_label(?)", f"{space}icd-10-cm{space}") == "ICD-10-CM"
    assert one(con, "clean_text(?)", f"a{space}b") == f"a{space}b"  # inside a value, kept


def test_text_that_is_not_white_space_is_kept(con: duckdb.DuckDBPyConnection) -> None:
    for value in ("\u200bx", "x\ufeff", "Köhler", "mg/dL"):  # zero-width space and BOM are not white space
        assert one(con, "clean_text(?)", value) == value
    assert one(con, "clean_text(?)", " \t ") is None
    assert one(con, "clean_text(?)", None) is None


@pytest.mark.parametrize(
    ("delivered", "sex"),
    [("M", "M"), ("male", "M"), (" MALE\t", "M"), ("Male", "M"), ("f", "F"), ("FEMALE", "F"), ("Female ", "F"),
     ("unknown", "unknown"), (" U ", "U"), ("", None)],
)
def test_sex(con: duckdb.DuckDBPyConnection, delivered: str, sex: str | None) -> None:
    assert one(con, "normalize_sex(?)", delivered) == sex


@pytest.mark.parametrize(
    ("delivered", "number", "comparator"),
    [
        ("7.9", 7.9, None),
        ("1,250", 1250.0, None),
        ("12,345,678.5", 12345678.5, None),
        ("-1,250", -1250.0, None),
        (">1000", 1000.0, ">"),
        (">= 25", 25.0, ">="),
        ("≥25", 25.0, ">="),
        ("<0.5", 0.5, "<"),
        ("<=1.5", 1.5, "<="),
        ("≤ 3", 3.0, "<="),
        (">1,000", 1000.0, ">"),
        # not numbers: never a lab value
        ("NaN", None, None),
        ("nan", None, None),
        ("inf", None, None),
        ("-inf", None, None),
        ("Infinity", None, None),
        ("1e400", None, None),
        (">inf", None, None),
        ("1_000", None, None),
        ("2,5", None, None),  # a decimal comma is never guessed
        ("1,25", None, None),
        ("12,50", None, None),
        ("1 000", None, None),
        ("positive", None, None),
        ("> abc", None, None),
    ],
)
def test_lab_numbers(
    con: duckdb.DuckDBPyConnection, delivered: str, number: float | None, comparator: str | None
) -> None:
    got_number = one(con, "result_number(clean_text(?))", delivered)
    got_comparator = con.execute(
        "select case when result_number(clean_text($1)) is not null then value_comparator(clean_text($1)) end",
        [delivered],
    ).fetchone()[0]
    assert (got_number, got_comparator) == (number, comparator)
