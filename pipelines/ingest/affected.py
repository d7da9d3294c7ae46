"""Which patients a batch can change: the scope of an incremental run (contract/scope.py).

A patient's staging rows, cohort rows and evidence depend on that patient's rows alone, with one exception: an
encounter's key is its id, so an encounter re-delivered under another patient leaves the patient it belonged to
(whose events at that encounter stop resolving). A batch therefore affects

- every patient with a row in the batch (the `Id` of patients.csv, the `PATIENT` of every other file), in the
  delivery being landed and, when the batch is re-delivered or re-run, in the delivery it replaces (a patient the
  new delivery dropped loses rows);
- the patient each of the batch's encounters belongs to in staging now, when the batch delivers it under another
  patient.

The answer is a superset: a patient whose rows all end in quarantine is in it too, and recomputing an unaffected
patient changes nothing. Ids are compared as staging writes them (`clean_text`, sql/staging/_macros.sql).
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from pipelines.warehouse import table_exists

AFFECTED_TABLE = "_affected_patients"  # a temp table: (patient_id varchar primary key)


def affected_patients(
    con: duckdb.DuckDBPyConnection, batch_tables: Iterable[tuple[str, str]], table: str = AFFECTED_TABLE
) -> int:
    """Writes temp table `table` (patient_id) from the batch's raw tables, given as (file stem, qualified raw table)
    pairs of the delivery being landed and of the one it replaces; returns how many patients it holds. Needs the
    staging macros (`prepare_staging`)."""
    pairs = list(batch_tables)
    selects = [f"select clean_text({_patient_column(stem)}) as patient_id from {relation}" for stem, relation in pairs]
    encounter_tables = [relation for stem, relation in pairs if stem == "encounters"]
    if encounter_tables and table_exists(con, "staging.encounters"):
        # The patient an encounter of the batch belongs to now, when the batch moves it to another patient.
        delivered = " union all ".join(
            f'select clean_text("Id") as encounter_id, clean_text(PATIENT) as patient_id from {relation}'
            for relation in encounter_tables
        )
        selects.append(
            f"""
            select staged.patient_id
            from staging.encounters as staged
            join ({delivered}) as delivered
                on delivered.encounter_id = staged.encounter_id
            where delivered.patient_id is distinct from staged.patient_id
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
