"""A small staging database with known defects, for validation tests that do not need the ingest."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.quality.reference import prepare_reference_tables

SQL = Path(__file__).with_name("staging.sql")

# check name -> failing rows in staging.sql (every other shipped check passes)
EXPECTED_FAILURES = {
    "patients_sex_allowed_values": 1,  # p3 sex 'X'
    "patients_age_0_120": 1,  # p4 born 1890
    "encounters_stop_not_before_start": 1,  # e3
    "encounters_patient_resolves": 1,  # e4 -> p9
    "conditions_pregnancy_on_male": 1,  # pregnancy value-set code on p1 (M)
    "observations_lab_unit_known": 1,  # 'furlongs'
    "observations_lab_value_plausible": 1,  # total calcium 55 mg/dL
    "observations_encounter_resolves": 1,  # e9
}


def build_staging(con: duckdb.DuckDBPyConnection) -> None:
    prepare_reference_tables(con)
    con.execute(SQL.read_text())


TABLE_ORDER = ("patients", "encounters", "conditions", "observations", "medications", "procedures")


def seed_reconciliation(con: duckdb.DuckDBPyConnection) -> None:
    """What the ingest would have recorded for the fixture: every row read was loaded."""
    con.execute("create schema if not exists dq")
    con.execute(
        "create or replace table dq.batch_reconciliation (batch_id varchar, source_file varchar, rows_read bigint, "
        "rows_loaded bigint, rows_quarantined bigint, rows_superseded bigint)"
    )
    for table in TABLE_ORDER:
        con.execute(
            f"insert into dq.batch_reconciliation select _batch_id, '{table}.csv', count(*), count(*), 0, 0 "
            f"from staging.{table} group by 1"
        )
