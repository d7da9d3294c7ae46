"""The rows a staging build for some patients reads and replaces (the incremental path, contract/scope.py).

A patient's staged rows depend on that patient's landed rows only, except through encounters, whose key is the
encounter id alone: an encounter can have copies under several patients. So a build for the scope reads

- every landed row of a scope patient, and every row of the batch itself (a row without a usable patient id is
  quarantined all the same);
- for encounters, every copy of each encounter those rows name, whoever it names (the newest copy of a key must
  be ranked against all its copies); the patients of those copies join the scope before the event tables are
  built (their events at a moved encounter stop resolving).

and replaces, in each table, the rows of the scope patients, of the batch, and every row whose lineage is one of
the lines it read (quarantine and the superseded ledger carry no patient id, only the line).

The staging models run unchanged: in a private in-memory database whose `raw.<file>` is the scope's landed rows
(read from the history once, into a temp table), and whose `staging` and `ref` lookups are the warehouse's own.
"""

from __future__ import annotations

import duckdb

from pipelines.contract.scope import Scope
from pipelines.ingest.affected import add_to_scope
from pipelines.warehouse import quote_ident, quote_literal, read_sql, table_exists

PRIVATE_DB = "_scoped_staging"
CANDIDATE_LINES = "_candidate_lines"  # temp table: (_batch_id, _source_line) of every row the build read
SCOPED_CANDIDATES = "_scoped_candidates"  # temp table: the typed rows the build made, before the swap
SCOPE_LANDED = "_scope_landed"  # temp table: the landed rows the build read, every column of raw.<file>


def patient_column(name: str) -> str:
    """The raw column naming the patient (patients.csv: its key)."""
    return '"Id"' if name == "patients" else "PATIENT"


def future_date_patients_query() -> str:
    """The patients with a row quarantined for a date after the load date: the date may have come since, and a
    full rebuild would judge the row again (so the scope takes them in)."""
    return """
        select clean_text(coalesce(
            json_extract_string(raw_record, '$.PATIENT'),
            json_extract_string(raw_record, '$.Id')
        )) as patient_id
        from quarantine.rows
        where reason_code = 'future_date'
    """


def scope_rows_filter(name: str, scope: Scope, home: str) -> str:
    """A SQL condition over `raw.<name>` (alias r) keeping the rows the scoped build reads."""
    batch = quote_literal(scope.batch_id)
    patients = scope.patients_query(catalog=home)
    own = f"clean_text(r.{patient_column(name)}) in ({patients}) or r._batch_id = {batch}"
    if name != "encounters":
        return own
    # every copy of the encounters the scope's rows name
    named = f"""
        select clean_text(e."Id") from {quote_ident(home)}.raw.encounters as e
        where clean_text(e.PATIENT) in ({patients}) or e._batch_id = {batch}
    """
    return f"{own} or clean_text(r.\"Id\") in ({named})"


def build_scoped_candidates(
    con: duckdb.DuckDBPyConnection, name: str, typed_sql: str, scope: Scope, admitted: str | None
) -> str:
    """Creates temp table SCOPED_CANDIDATES: the typed rows (the staging model `typed_sql`) of the scope's
    landed rows of `name`, of admitted batches (the condition `admitted`, over `_batch_id`). Returns the temp table
    holding those landed rows: the quarantine takes its rows' raw records from it, not from the whole history."""
    home = con.execute("select current_database()").fetchone()[0]
    # Read once, every column: the history is scanned here and nowhere else in the build.
    con.execute(
        f"create or replace temp table {SCOPE_LANDED} as select r.* from {quote_ident(home)}.raw.{name} as r "
        f"where {scope_rows_filter(name, scope, home)}"
    )
    con.execute(f"attach ':memory:' as {PRIVATE_DB}")
    try:
        con.execute(f"use {PRIVATE_DB}")
        try:
            con.execute(read_sql("staging/_macros.sql"))
            for schema in ("raw", "staging", "ref"):
                con.execute(f"create schema if not exists {schema}")
            con.execute(f"create view raw.{name} as select * from temp.main.{SCOPE_LANDED}")
            con.execute(f"create view raw._batches as select * from {quote_ident(home)}.raw._batches")
            for table in ("staging.patients", "staging.encounters", "ref.code_system_map"):
                if table_exists(con, table, catalog=home):
                    con.execute(f"create view {table} as {_lookup_rows(name, table, scope, home)}")
            # Straight into the table, without a view in between: binding the model costs ~0.3 s each time.
            where = f" where {admitted}" if admitted else ""
            con.execute(
                f"create or replace temp table {SCOPED_CANDIDATES} as "
                f"select * from (\n{typed_sql}\n) as typed{where}"
            )
        finally:
            con.execute(f"use {quote_ident(home)}")
    finally:
        con.execute(f"detach database if exists {PRIVATE_DB}")
    return f"temp.{SCOPE_LANDED}"


def _lookup_rows(name: str, table: str, scope: Scope, home: str) -> str:
    """The rows of a table the model looks rows up in. An event's patient is in the scope (or it has none), so its
    patient and encounter are looked up among the scope's rows only: an encounter staged under a patient outside
    the scope fails the event's check exactly as it does when it is staged under another patient of the scope
    (`orphan_encounter` either way), and the hash tables stay the size of the scope, not of the history. The
    encounters' build reads copies of other patients' encounters, so it looks up every patient."""
    rows = f"select * from {quote_ident(home)}.{table}"
    if name in ("patients", "encounters") or not table.startswith("staging."):
        return rows
    return f"{rows} where patient_id in ({scope.patients_query(catalog=home)})"


def widen_scope_to_encounter_copies(con: duckdb.DuckDBPyConnection, scope: Scope) -> int:
    """After the encounters build has swapped in every copy of its encounters: their patients join the scope of
    the event tables and the cohort (a patient's event at an encounter now staged under another patient no longer
    resolves). Not before: the encounters build replaces the rows of the scope it read. Returns how many."""
    return add_to_scope(con, scope.batch_id, f"select distinct patient_id from temp.{CANDIDATE_ENCOUNTERS}")


def staged_rows_replaced(name: str, scope: Scope) -> str:
    """A SQL condition over staging.<name> for the rows the scoped build replaces."""
    condition = f"patient_id in ({scope.patients_query()}) or _batch_id = {quote_literal(scope.batch_id)}"
    if name == "encounters":
        condition += f" or encounter_id in (select encounter_id from temp.{CANDIDATE_ENCOUNTERS})"
    return condition


CANDIDATE_ENCOUNTERS = "_candidate_encounters"  # temp table: the encounter ids an encounters build read


def lines_replaced(scope: Scope) -> str:
    """A SQL condition over a table with lineage columns (batch_id, source_line: quarantine, the ledgers),
    restricted to one file by the caller, for the rows the scoped build replaces: the batch's own, and those of
    every line it read."""
    return (
        f"(batch_id = {quote_literal(scope.batch_id)} "
        f"or (batch_id, source_line) in (select (_batch_id, _source_line) from temp.{CANDIDATE_LINES}))"
    )

