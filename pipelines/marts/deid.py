"""De-identification checks over `marts.*`, run before every publish and by the tests.

Each mart column is checked for what could go wrong in it, and only that:
- counts (declared in `specs.py`): no unsuppressed value 1..10. Counts are never compared with patient ids: a
  numeric id (MRN) equal to a count is not a leak;
- structural numbers (declared): nothing (a number of checks, an ordinal);
- any other numeric column: refused, so that a new count cannot slip past suppression unnoticed;
- structural text columns (batch ids, run ids, phenotype versions, flag names, month labels, ...: declared per mart
  with the values they may hold, `specs.TextDomain`): every value must be one of those. They are not compared with
  identifiers: a date-named batch equal to somebody's birth date is not a leak;
- every other column (free text, dates, a column nobody declared): scanned for the input's direct identifiers
  (patient ids, SSNs, names, exact birth dates, addresses, licence and passport numbers), as a whole value and as
  words within the value.
Errors name the mart, the column and the kind of identifier; never the value.
"""

from __future__ import annotations

import duckdb

from pipelines.marts.specs import MARTS, TextDomain
from pipelines.marts.suppression import SMALL_MAX, SMALL_MIN
from pipelines.warehouse import quote_literal, table_columns, table_exists

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
# Booleans (markers, combination members) cannot carry an identifier.
_SKIPPED_TYPES = ("BOOLEAN",)
# Words of a longer text are compared with identifiers that contain a digit and are this long (ids, SSNs, dates,
# licence numbers): a short plain word such as a first name would match ordinary words.
_MIN_WORD_IDENTIFIER = 6
# The run context of marts.run_info is what the other marts' context columns are checked against.
_RUN_INFO_CONTEXT = ("run_id", "batch_id", "phenotype_version", "built_at")


class DeidentificationError(RuntimeError):
    """A mart breaks the de-identification rules (docs/marts.md)."""


def load_identifiers(con: duckdb.DuckDBPyConnection, table: str = "_deid_identifiers") -> int:
    """Collects every direct identifier of the input, with the input column it came from, into a temp table;
    returns how many distinct values."""
    selects: list[str] = []
    if table_exists(con, "raw.patients"):
        for column in table_columns(con, "raw.patients"):
            if column.lower() in IDENTIFIER_COLUMNS:
                selects.append(
                    f'select trim(cast("{column}" as varchar)) as value, {quote_literal("raw.patients." + column)} '
                    "as source from raw.patients"
                )
    for source, columns in (
        ("staging.patients", ("patient_id", "birth_date")),
        ("cohort.patient_flags", ("patient_id",)),
    ):
        if table_exists(con, source):
            present = {c.lower() for c in table_columns(con, source)}
            selects += [
                f"select cast({c} as varchar), {quote_literal(source + '.' + c)} from {source}"
                for c in columns
                if c in present
            ]
    body = "\nunion all\n".join(selects) if selects else "select null::varchar as value, null as source where false"
    con.execute(
        f"create or replace temp table {table} as "
        f"select value, min(source) as source from ({body}) where value is not null and value <> '' group by value"
    )
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def identifier_leaks(con: duckdb.DuckDBPyConnection, schema: str = "marts") -> list[str]:
    """`table.column (kind)` of every scanned mart column holding an input identifier (call `load_identifiers`
    first). Structural text columns, counts, structural numbers and booleans are not scanned."""
    leaks: list[str] = []
    for table, column, _ in _columns(con, schema, scanned=True):
        value = f'trim(cast(m."{column}" as varchar))'
        sources = con.execute(
            f"""
            with scanned as (
                select distinct {value} as value
                from {schema}."{table}" as m
                where m."{column}" is not null
            ),
            words as (
                select distinct unnest(regexp_split_to_array(value, '[^A-Za-z0-9._/@:-]+')) as value
                from scanned
            )
            select distinct i.source
            from _deid_identifiers as i
            where i.value in (select value from scanned)
                or (
                    length(i.value) >= {_MIN_WORD_IDENTIFIER}
                    and regexp_matches(i.value, '[0-9]')
                    and i.value in (select value from words)
                )
            order by 1
            """
        ).fetchall()
        if sources:
            leaks.append(f"{table}.{column} ({', '.join(s for (s,) in sources)})")
    return leaks


def structural_text_violations(con: duckdb.DuckDBPyConnection, schema: str = "marts") -> list[str]:
    """Structural text columns holding a value outside their declared domain (the value is not shown)."""
    problems: list[str] = []
    for table, column, domain in _columns(con, schema, scanned=False):
        allowed = _allowed_values_sql(con, domain)
        outside = con.execute(
            f'select count(*) from {schema}."{table}" as m '
            f'where m."{column}" is not null and not ({_matches(domain, f"m.{_q(column)}")}) '
            f'and cast(m."{column}" as varchar) not in ({allowed})'
        ).fetchone()[0]
        if outside:
            problems.append(f"{table}.{column}: {outside} value(s) that are not {domain.description}")
    return problems


def small_count_violations(con: duckdb.DuckDBPyConnection, schema: str = "marts") -> list[str]:
    """Descriptions of unsuppressed counts 1..10 and of undeclared numeric columns in the marts."""
    specs = {m.name: m for m in MARTS}
    problems: list[str] = []
    for table in _tables(con, schema):
        spec = specs.get(table)
        for column, data_type in _column_types(con, schema, table):
            if data_type not in _NUMERIC_TYPES:
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
    """Raises `DeidentificationError` naming every problem (mart, column, kind; never a value)."""
    load_identifiers(con)
    problems = [f"{schema}.{leak}: holds an input identifier" for leak in identifier_leaks(con, schema)]
    problems += [f"{schema}.{p}" for p in structural_text_violations(con, schema)]
    problems += [f"{schema}.{p}" for p in small_count_violations(con, schema)]
    if problems:
        raise DeidentificationError("de-identification check failed: " + "; ".join(problems))


def _columns(con: duckdb.DuckDBPyConnection, schema: str, scanned: bool) -> list[tuple[str, str, TextDomain | None]]:
    """(table, column, domain) of the structural text columns, or (with `scanned`) of the columns to scan."""
    specs = {m.name: m for m in MARTS}
    out: list[tuple[str, str, TextDomain | None]] = []
    for table in _tables(con, schema):
        spec = specs.get(table)
        domains = spec.all_text_domains if spec else {}
        for column, data_type in _column_types(con, schema, table):
            if data_type in _NUMERIC_TYPES or data_type in _SKIPPED_TYPES:
                continue
            if table == "run_info" and column in _RUN_INFO_CONTEXT:
                continue  # the run context itself (and the build time): what the marts' context is checked against
            domain = domains.get(column) if data_type == "VARCHAR" else None
            if scanned and domain is None:
                out.append((table, column, None))
            elif not scanned and domain is not None:
                out.append((table, column, domain))
    return out


def _allowed_values_sql(con: duckdb.DuckDBPyConnection, domain: TextDomain) -> str:
    selects = [f"select {quote_literal(v)}" for v in domain.values]
    for source in domain.values_from:
        schema, table, column = source.split(".")
        if table_exists(con, f"{schema}.{table}"):
            selects.append(f"select cast({_q(column)} as varchar) from {schema}.{_q(table)}")
    if not selects:
        return "select null::varchar where false"
    return "select v from (" + "\nunion all\n".join(selects) + ") as allowed(v) where v is not null"


def _matches(domain: TextDomain, expression: str) -> str:
    if domain.pattern is None:
        return "false"
    return f"regexp_full_match({expression}, {quote_literal(domain.pattern)})"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _column_types(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? and table_catalog = current_database() order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [(column, data_type.upper().split("(")[0]) for column, data_type in rows]


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ? "
        "and table_catalog = current_database() order by table_name",
        [schema],
    ).fetchall()
    return [r[0] for r in rows]
