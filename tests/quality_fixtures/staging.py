"""A small staging database with known defects, for validation tests that do not need the ingest."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.contract.suites import Suite
from pipelines.ingest.reconciliation import refresh_reconciliation
from pipelines.quality.run import TableValidation, measure_table
from pipelines.reference.build import build_reference_data as prepare_reference_tables
from pipelines.reports.data_docs import write_validation_page
from pipelines.warehouse import ensure_bookkeeping as ensure_schemas

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


def seed_reconciliation(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...] = TABLE_ORDER) -> None:
    """What the ingest would have recorded for the fixture: every staged row was read from raw and loaded.

    The ingest's own bookkeeping tables, with raw holding a copy of the staged rows, so that validation's
    quarantine recounts the reconciliation with the ingest's code.
    """
    ensure_schemas(con)
    con.execute("insert or replace into raw._batches (batch_id, source_dir, registered_at, notes) "
                "select distinct _batch_id, 'fixture', now()::timestamp, '' from staging.patients")
    for table in tables:
        con.execute(f"create or replace table raw.{table} as select * from staging.{table}")
        refresh_reconciliation(con, table)


def validate_table(
    con: duckdb.DuckDBPyConnection, suite: Suite, run_id: str, batch_id: str | None, docs_dir: Path | None = None
) -> TableValidation:
    """The check's measurement over the fixture's staging (and its GX Data Docs page when `docs_dir` is given)."""
    outcome = measure_table(con, suite, run_id, batch_id)
    if docs_dir is not None:
        write_validation_page(outcome.gx_result, Path(docs_dir), suite.table)
    return outcome
