"""`ref.icd10cm_titles`: the official ICD-10-CM title of every ICD-10-CM code the seeds list, and how many codes sit
below it, looked up once per phenotype version.

Loading the FY2026 tabular list takes 3-5 s, more than everything else a small daily batch costs; the titles only
change when a seed does, so the table is kept between runs and rebuilt when the phenotype version changes. The
definition page reads it instead of loading the list on every run.
"""

from __future__ import annotations

import duckdb

from pipelines.reference import icd10cm
from pipelines.warehouse import table_exists

TITLES_TABLE = "ref.icd10cm_titles"


def seed_icd10cm_codes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every distinct ICD-10-CM code (as the seed lists it) of the seed tables that have code_system and code."""
    tables = con.execute(
        "select table_name from duckdb_columns() where database_name = current_database() and schema_name = 'ref' "
        "and column_name in ('code_system', 'code') and table_name <> 'icd10cm_titles' "
        "group by table_name having count(*) = 2 order by table_name"
    ).fetchall()
    codes: set[str] = set()
    for (table,) in tables:
        rows = con.execute(
            f'select distinct code from ref."{table}" where upper(trim(code_system)) = \'ICD10CM\' and code is not null'
        ).fetchall()
        codes.update(str(r[0]) for r in rows)
    return sorted(codes)


def ensure_icd10cm_titles(con: duckdb.DuckDBPyConnection, version: str) -> int:
    """Builds `ref.icd10cm_titles` (code, title, codes_below, phenotype_version) unless it already holds this
    version's codes; returns its rows. `title` is NULL for a code ICD-10-CM FY2026 does not have."""
    codes = seed_icd10cm_codes(con)
    if table_exists(con, TITLES_TABLE):
        held = con.execute(f"select code, phenotype_version from {TITLES_TABLE} order by code").fetchall()
        if [c for c, _ in held] == codes and all(v == version for _, v in held):
            return len(held)
    rows = [(code, icd10cm.title(code), max(len(icd10cm.codes_under(code)) - 1, 0), version) for code in codes]
    con.execute(
        f"create or replace table {TITLES_TABLE} "
        "(code varchar not null, title varchar, codes_below integer not null, phenotype_version varchar not null)"
    )
    if rows:
        con.executemany(f"insert into {TITLES_TABLE} values (?, ?, ?, ?)", rows)
    return len(rows)


def read_icd10cm_titles(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str | None, int]] | None:
    """code -> (title, codes_below) from `ref.icd10cm_titles`; None when the warehouse has no such table."""
    if not table_exists(con, TITLES_TABLE):
        return None
    rows = con.execute(f"select code, title, codes_below from {TITLES_TABLE}").fetchall()
    return {str(code): (title, int(below)) for code, title, below in rows}
