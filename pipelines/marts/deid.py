"""De-identification checks over `marts.*`, run before every publish and by the tests.

- identifier leaks: any mart value (cast to text) equal to an input patient id, SSN, name or exact birth date;
- small counts: any count column holding 1..10, or a numeric column that is neither a declared count nor
  declared structural (so a new count column cannot slip past suppression unnoticed).
"""

from __future__ import annotations

import duckdb

from pipelines.marts.build import table_columns
from pipelines.marts.specs import MARTS
from pipelines.marts.suppression import SMALL_MAX, SMALL_MIN
from pipelines.sql_runner import table_exists

# Input columns (raw Synthea layout, matched case-insensitively) that identify a person directly.
IDENTIFIER_COLUMNS = ("id", "ssn", "first", "last", "maiden", "birthdate", "drivers", "passport", "address")
# Every numeric type: a count stored as DECIMAL or DOUBLE must not slip past the scan.
_NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "REAL",
    "DECIMAL",
)


class DeidentificationError(RuntimeError):
    """A mart breaks the de-identification rules of outputs.md."""


def load_identifiers(con: duckdb.DuckDBPyConnection, table: str = "_deid_identifiers") -> int:
    """Collects every direct identifier of the input into a temp table; returns how many distinct values."""
    selects: list[str] = []
    if table_exists(con, "raw.patients"):
        for column in table_columns(con, "raw.patients"):
            if column.lower() in IDENTIFIER_COLUMNS:
                selects.append(f'select trim(cast("{column}" as varchar)) as value from raw.patients')
    for source, columns in (
        ("staging.patients", ("patient_id", "birth_date")),
        ("cohort.patient_flags", ("patient_id",)),
    ):
        if table_exists(con, source):
            present = {c.lower() for c in table_columns(con, source)}
            selects += [f"select cast({c} as varchar) from {source}" for c in columns if c in present]
    body = "\nunion\n".join(selects) if selects else "select null::varchar as value where false"
    con.execute(
        f"create or replace temp table {table} as "
        f"select distinct value from ({body}) where value is not null and value <> ''"
    )
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def identifier_leaks(con: duckdb.DuckDBPyConnection, schema: str = "marts") -> list[str]:
    """`table.column` of every mart column holding an input identifier (call `load_identifiers` first)."""
    leaks: list[str] = []
    for table in _tables(con, schema):
        for column in table_columns(con, f"{schema}.{table}"):
            hit = con.execute(
                f'select count(*) from {schema}."{table}" as m '
                f'inner join _deid_identifiers as i on trim(cast(m."{column}" as varchar)) = i.value'
            ).fetchone()[0]
            if hit:
                leaks.append(f"{table}.{column}")
    return leaks


def small_count_violations(con: duckdb.DuckDBPyConnection, schema: str = "marts") -> list[str]:
    """Descriptions of unsuppressed counts 1..10 and of undeclared integer columns in the marts."""
    specs = {m.name: m for m in MARTS}
    problems: list[str] = []
    for table in _tables(con, schema):
        spec = specs.get(table)
        rows = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? and table_catalog = current_database()",
            [schema, table],
        ).fetchall()
        for column, data_type in rows:
            if data_type.upper().split("(")[0] not in _NUMERIC_TYPES:
                continue
            if spec is None or (column not in spec.count_columns and column not in spec.structural):
                problems.append(f"{table}.{column}: numeric column not declared as a count or structural")
                continue
            if column in spec.structural:
                continue
            n = con.execute(
                f'select count(*) from {schema}."{table}" where "{column}" between {SMALL_MIN} and {SMALL_MAX}'
            ).fetchone()[0]
            if n:
                problems.append(f"{table}.{column}: {n} unsuppressed count(s) between {SMALL_MIN} and {SMALL_MAX}")
    return problems


def assert_deidentified(con: duckdb.DuckDBPyConnection, schema: str = "marts") -> None:
    """Raises `DeidentificationError` naming every problem found."""
    load_identifiers(con)
    problems = [f"{leak}: holds an input identifier" for leak in identifier_leaks(con, schema)]
    problems += small_count_violations(con, schema)
    if problems:
        raise DeidentificationError("; ".join(problems))


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ? "
        "and table_catalog = current_database() order by table_name",
        [schema],
    ).fetchall()
    return [r[0] for r in rows]
