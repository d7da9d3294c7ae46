"""Which patients a batch can change: the scope of an incremental run (contract/scope.py).

A patient's staging rows, cohort rows and evidence depend on that patient's rows alone, with one exception: an
encounter's key is its id, so an encounter re-delivered under another patient leaves the patient it belonged to
(whose events at that encounter stop resolving). A batch therefore affects

- every patient with a row in the batch (the `Id` of patients.csv, the `PATIENT` of every other file), in the
  delivery being landed and, when the batch is re-delivered or re-run, in the delivery it replaces (a patient the
  new delivery dropped loses rows);
- every patient any landed row of one of the batch's encounters names (raw.encounters, every batch): the patient
  an encounter is moved away from, and the patients of older copies of it, whose superseded rows get a new
  winner.

The answer is a superset: a patient whose rows all end in quarantine is in it too, and recomputing an unaffected
patient changes nothing. Ids are compared as staging writes them (`clean_text`, sql/staging/_macros.sql).
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from pipelines.contract.scope import SCOPE_TABLE
from pipelines.warehouse import read_sql, table_exists

AFFECTED_TABLE = "_affected_patients"  # a temp table: (patient_id varchar primary key)


def affected_patients(
    con: duckdb.DuckDBPyConnection,
    batch_tables: Iterable[tuple[str, str]],
    table: str = AFFECTED_TABLE,
    encounter_history: str = "raw.encounters",
) -> int:
    """Writes temp table `table` (patient_id) from the batch's raw tables, given as (file stem, qualified raw table)
    pairs of the delivery being landed and of the one it replaces, and from every landed copy of the batch's
    encounters (`encounter_history`); returns how many patients it holds. Needs the staging macros
    (`prepare_staging`)."""
    pairs = list(batch_tables)
    selects = [f"select clean_text({_patient_column(stem)}) as patient_id from {relation}" for stem, relation in pairs]
    encounter_tables = [relation for stem, relation in pairs if stem == "encounters"]
    if encounter_tables and table_exists(con, encounter_history):
        # Every patient a landed copy of one of the batch's encounters names (the one it is moved away from too).
        delivered = " union ".join(f'select clean_text("Id") as encounter_id from {r}' for r in encounter_tables)
        selects.append(
            f"""
            select clean_text(history.PATIENT)
            from {encounter_history} as history
            where clean_text(history."Id") in ({delivered})
            """
        )
    body = " union ".join(selects) if selects else "select null::varchar as patient_id where false"
    con.execute(
        f"create or replace temp table {table} as "
        f"select distinct patient_id::varchar as patient_id from ({body}) where patient_id is not null"
    )
    return con.execute(f"select count(*) from temp.{table}").fetchone()[0]


def _patient_column(stem: str) -> str:
    """The raw column naming the patient: the key of patients.csv, the PATIENT reference of every other file."""
    return '"Id"' if stem == "patients" else "PATIENT"



def record_affected_patients(
    con: duckdb.DuckDBPyConnection, batch_id: str, batch_tables: Iterable[tuple[str, str]]
) -> int:
    """Adds the patients `batch_tables` (see `affected_patients`) can change to the batch's scope in
    raw._affected_patients (kept in the warehouse: every step of the run reads it); returns how many were new."""
    con.execute(read_sql("staging/_macros.sql"))
    affected_patients(con, batch_tables)
    return add_to_scope(con, batch_id, f"select patient_id from temp.{AFFECTED_TABLE}")


def add_to_scope(con: duckdb.DuckDBPyConnection, batch_id: str, patients_query: str) -> int:
    """Adds the patients `patients_query` returns (column patient_id) to the batch's scope; returns how many were
    new."""
    before = scope_size(con, batch_id)
    con.execute(
        f"""
        insert into {SCOPE_TABLE}
        select distinct $batch, patient_id
        from ({patients_query})
        where patient_id is not null
            and patient_id not in (select patient_id from {SCOPE_TABLE} where batch_id = $batch)
        """,
        {"batch": batch_id},
    )
    return scope_size(con, batch_id) - before


def scope_size(con: duckdb.DuckDBPyConnection, batch_id: str) -> int:
    return con.execute(f"select count(*) from {SCOPE_TABLE} where batch_id = ?", [batch_id]).fetchone()[0]


def forget_scope(con: duckdb.DuckDBPyConnection, batch_id: str) -> None:
    con.execute(f"delete from {SCOPE_TABLE} where batch_id = ?", [batch_id])
