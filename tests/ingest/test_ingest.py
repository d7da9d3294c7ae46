"""Ingest end to end through the real Dagster assets into a real DuckDB file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.contract.synthea import LAYOUTS
from tests.ingest_helpers import base_encounters, base_patients, materialize_ingest, query, write_table

REAL_SYNTHEA = Path(__file__).resolve().parents[3] / "shared" / "data" / "synthea_real_a"


def _clean_batch(folder: Path) -> Path:
    write_table(folder, "patients", base_patients())
    write_table(folder, "encounters", base_encounters())
    write_table(
        folder,
        "conditions",
        [
            {"START": "2024-03-01", "PATIENT": "p1", "ENCOUNTER": "e1", "SYSTEM": "ICD-10-CM", "CODE": "R25.2"},
            {"START": "2024-03-01", "PATIENT": "p1", "ENCOUNTER": "e1", "SYSTEM": "http://hl7.org/fhir/sid/icd-10-cm",
             "CODE": "e8351"},
            {"START": "2023-05-01", "PATIENT": "p2", "ENCOUNTER": "e2", "SYSTEM": "SNOMED-CT", "CODE": "44054006"},
            {"START": "2023-05-01", "PATIENT": "p2", "ENCOUNTER": "e2", "SYSTEM": "", "CODE": "38341003"},
            {"START": "2023-05-01", "PATIENT": "p2", "ENCOUNTER": "e2", "SYSTEM": "LOCAL-XYZ", "CODE": "abc"},
        ],
    )
    write_table(
        folder,
        "observations",
        [
            {"DATE": "2024-03-01T10:00:00Z", "PATIENT": "p1", "ENCOUNTER": "e1", "CODE": "17861-6",
             "VALUE": "8.1", "UNITS": "mg/dL", "TYPE": "numeric"},
            {"DATE": "2024-03-01T10:00:00Z", "PATIENT": "p1", "ENCOUNTER": "", "CODE": "QOLS",
             "VALUE": "0.9", "UNITS": "{score}", "TYPE": "numeric"},
        ],
    )
    return folder


def test_clean_batch_loads_typed_and_normalized(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    result = materialize_ingest(db, _clean_batch(tmp_path / "b1"), "b1")
    assert result.success
    assert query(db, "select code_system, code from staging.conditions order by code") == [
        ("SNOMED", "38341003"), ("SNOMED", "44054006"), ("UNKNOWN", "ABC"), ("ICD10CM", "E8351"),
        ("ICD10CM", "R252"),
    ]
    # Direct identifiers stay in raw; staging carries what the pipeline needs.
    assert query(db, "select count(*) from raw.patients where SSN = '999-00-0001'") == [(1,)]
    staged_columns = {r[0] for r in query(
        db, "select column_name from information_schema.columns where table_schema = 'staging' "
        "and table_name = 'patients'")}
    assert not staged_columns & {"SSN", "FIRST", "LAST", "ADDRESS"}
    assert query(db, "select value_numeric, encounter_id from staging.observations order by code") == [
        (8.1, "e1"), (0.9, None)]
    assert query(db, "select count(*) from quarantine.rows") == [(0,)]
    assert query(db, "select bool_and(balanced), sum(rows_read) from dq.batch_reconciliation") == [(True, 11)]


def test_rerun_of_the_same_batch_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    folder = _clean_batch(tmp_path / "b1")
    snapshot_sql = """
        select (select count(*) from raw.conditions), (select count(*) from staging.conditions),
               (select count(*) from quarantine.rows), (select sum(rows_read) from dq.batch_reconciliation)
    """
    assert materialize_ingest(db, folder, "b1").success
    first = query(db, snapshot_sql)
    assert materialize_ingest(db, folder, "b1").success
    assert query(db, snapshot_sql) == first == [(5, 5, 0, 11)]


def test_redelivered_and_updated_rows_supersede_older_ones(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    b1 = _clean_batch(tmp_path / "2026-01-01")
    b2 = tmp_path / "2026-02-01"
    write_table(b2, "patients", base_patients()[:1])  # p1 re-delivered unchanged
    write_table(b2, "encounters", [])
    # R25.2 re-delivered with STOP filled in: the newer row wins, the old one is superseded.
    write_table(b2, "conditions", [
        {"START": "2024-03-01", "STOP": "2024-04-01", "PATIENT": "p1", "ENCOUNTER": "e1", "SYSTEM": "ICD-10-CM",
         "CODE": "R252"},
    ])
    write_table(b2, "observations", [])
    assert materialize_ingest(db, b1, "2026-01-01").success
    assert materialize_ingest(db, b2, "2026-02-01").success
    assert query(db, "select stop_date::varchar, _batch_id from staging.conditions where code = 'R252'") == [
        ("2024-04-01", "2026-02-01")]
    assert query(db, "select count(*) from staging.patients") == [(2,)]
    rec = query(db, """select batch_id, source_file, rows_read, rows_loaded, rows_quarantined, rows_superseded,
                              balanced from dq.batch_reconciliation
                       where source_file in ('conditions.csv', 'patients.csv') order by 1, 2""")
    assert rec == [
        ("2026-01-01", "conditions.csv", 5, 4, 0, 1, True),
        ("2026-01-01", "patients.csv", 2, 1, 0, 1, True),
        ("2026-02-01", "conditions.csv", 1, 1, 0, 0, True),
        ("2026-02-01", "patients.csv", 1, 1, 0, 0, True),
    ]
    assert query(db, "select superseded_by_batch_id from dq.superseded_rows where source_file = 'conditions.csv'") \
        == [("2026-02-01",)]


def test_each_defect_class_is_quarantined_with_its_reason_and_line(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    folder = tmp_path / "b1"
    write_table(folder, "patients", base_patients())
    write_table(folder, "encounters", base_encounters())
    write_table(folder, "observations", [])
    header = "START,STOP,PATIENT,ENCOUNTER,SYSTEM,CODE,DESCRIPTION\n"
    lines = [
        "2024-03-01,,p1,e1,ICD-10-CM,R25.2,good row",                    # 2 loads
        "2024-03-01,,p1,e1,ICD-10-CM,R25.2,too,many",                    # 3 too_many_fields
        "2024-03-01,,p1,e1,ICD-10-CM",                                   # 4 too_few_fields
        "2021-13-45,,p1,e1,ICD-10-CM,G62.9,bad date",                    # 5 invalid_date
        "2024-03-02,,,e1,ICD-10-CM,G62.9,no patient",                    # 6 missing_required_field
        "2024-03-03,,ghost,e1,ICD-10-CM,G62.9,orphan patient",           # 7 orphan_patient
        "2024-03-04,,p1,nope,ICD-10-CM,G62.9,orphan encounter",          # 8 orphan_encounter
        "1949-01-01,,p1,e1,ICD-10-CM,G62.9,before birth",                # 9 event_before_birth
        "2024-06-01,,p2,e2,ICD-10-CM,G62.9,after death",                 # 10 event_after_death
        "2099-01-01,,p1,e1,ICD-10-CM,G62.9,future",                      # 11 future_date
        "2024-03-05,,p1,e1,ICD-10-CM,G62.9,\"quoted, with comma\"",      # 12 loads
        "2024-03-01,,p1,e1,ICD-10-CM,R25.2,good row",                    # 13 duplicate of 2: supersedes it
    ]
    body = (header + "\n".join(lines) + "\n").encode()
    body += b"2024-03-06,,p1,e1,ICD-10-CM,G62.9,caf\xe9 latin-1\n"       # 14 invalid_encoding
    body += b"2024-03-07,,p1,e1,ICD-10-CM,G62.81,last good row\n"       # 15 loads
    (folder / "conditions.csv").write_bytes(body)
    # Ten of fourteen rows are defects on purpose: above the default quarantine limit of a real batch.
    assert materialize_ingest(db, folder, "b1", max_quarantine_share=1.0).success
    got = query(db, """select source_line, reason_code from quarantine.rows
                       where source_file = 'conditions.csv' order by source_line""")
    assert got == [
        (3, "too_many_fields"), (4, "too_few_fields"), (5, "invalid_date"), (6, "missing_required_field"),
        (7, "orphan_patient"), (8, "orphan_encounter"), (9, "event_before_birth"), (10, "event_after_death"),
        (11, "future_date"), (14, "invalid_encoding"),
    ]
    assert query(db, "select _source_line from staging.conditions order by 1") == [(12,), (13,), (15,)]
    assert query(db, "select source_line from dq.superseded_rows") == [(2,)]
    assert query(db, """select rows_read, rows_loaded, rows_quarantined, rows_superseded, balanced
                        from dq.batch_reconciliation where source_file = 'conditions.csv'""") == [
        (14, 3, 10, 1, True)]
    # The raw record of a parse reject is the line as delivered.
    assert query(db, "select raw_record from quarantine.rows where source_line = 3") == [
        ("2024-03-01,,p1,e1,ICD-10-CM,R25.2,too,many",)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("missing_file", "conditions.csv: required file missing in batch b1"),
        (
            "missing_column",
            "observations.csv: required column CODE missing (expected header: "
            + ",".join(LAYOUTS["observations"].columns)
            + ")",
        ),
        ("empty_file", "patients.csv: empty file, no header row"),
    ],
)
def test_unusable_batch_stops_before_anything_is_loaded(tmp_path: Path, change: str, message: str) -> None:
    db = tmp_path / "w.duckdb"
    folder = _clean_batch(tmp_path / "b1")
    if change == "missing_file":
        (folder / "conditions.csv").unlink()
    elif change == "missing_column":
        write_table(folder, "observations", [{"DATE": "2024-01-01", "PATIENT": "p1"}],
                    columns=["DATE", "PATIENT", "ENCOUNTER", "VALUE", "UNITS"])
    else:
        (folder / "patients.csv").write_text("")
    result = materialize_ingest(db, folder, "b1")
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == "landed_batch"
    assert failure.step_failure_data.user_failure_data.description == message
    assert "\n" not in message
    if db.exists():
        tables = {r[0] for r in query(db, "select table_name from information_schema.tables "
                                           "where table_schema = 'raw'")}
        assert tables <= {"_batches"}  # (the reference layer may have been loaded: it does not wait for the batch)
        if tables:
            assert query(db, "select count(*) from raw._batches") == [(0,)]


def test_header_only_files_and_absent_optional_files_load_as_empty(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    folder = _clean_batch(tmp_path / "b1")
    write_table(folder, "observations", [])
    write_table(folder, "medications", [])
    assert not (folder / "procedures.csv").exists()
    assert materialize_ingest(db, folder, "b1").success
    assert query(db, "select count(*) from staging.observations") == [(0,)]
    assert query(db, "select count(*) from staging.procedures") == [(0,)]
    assert query(db, "select rows_read, balanced from dq.batch_reconciliation "
                     "where source_file = 'medications.csv'") == [(0, True)]


def test_headers_match_case_insensitively_in_any_order_and_extra_columns_are_kept(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    folder = _clean_batch(tmp_path / "b1")
    (folder / "conditions.csv").write_bytes(
        "\ufeffcode,patient,Encounter,start,stop,description,SITE_FLAG\n"
        "R25.2,p1,e1,2024-03-01T08:00:00Z,,Cramp,yes\n".encode()
    )
    (folder / "allergies.csv").write_text("START,PATIENT\n")
    result = materialize_ingest(db, folder, "b1")
    assert result.success
    assert query(db, "select code_system, code, start_date::varchar from staging.conditions") == [
        ("SNOMED", "R25.2", "2024-03-01")]
    assert query(db, "select _extra_columns from raw.conditions") == [('{"SITE_FLAG":"yes"}',)]
    notes = query(db, "select notes from raw._batches")[0][0]
    assert "allergies.csv: not used by this pipeline, ignored" in notes
    assert "SITE_FLAG" in notes


def test_failed_reload_keeps_the_previous_rows_of_the_batch(tmp_path: Path) -> None:
    """A crash in the middle of a reload rolls back: the batch is never half-loaded."""
    import duckdb

    from pipelines.ingest.batch import BatchError, inspect_batch
    from pipelines.ingest.raw_load import load_raw_file

    db = tmp_path / "w.duckdb"
    folder = _clean_batch(tmp_path / "b1")
    assert materialize_ingest(db, folder, "b1").success
    inspection = inspect_batch(folder, "b1")
    (folder / "conditions.csv").unlink()  # disappears between inspection and load
    con = duckdb.connect(str(db))
    with pytest.raises(BatchError, match="conditions.csv: cannot be read"):
        load_raw_file(con, "b1", inspection.files["conditions"])
    con.close()
    assert query(db, "select count(*) from raw.conditions where _batch_id = 'b1'") == [(5,)]


def test_real_synthea_export_with_older_headers_loads(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    result = materialize_ingest(db, REAL_SYNTHEA, "synthea_real_a")
    assert result.success
    assert query(db, "select count(*) from staging.patients") == [(59,)]
    assert query(db, "select distinct code_system from staging.conditions") == [("SNOMED",)]
    assert query(db, "select count(*) from quarantine.rows where stage = 'parse'") == [(0,)]
    assert query(db, "select bool_and(balanced), count(*) from dq.batch_reconciliation") == [(True, 6)]
    # Every landed row is accounted for.
    read = query(db, "select sum(rows_read) from dq.batch_reconciliation")[0][0]
    lines = sum(len(p.read_text().splitlines()) - 1 for p in REAL_SYNTHEA.glob("*.csv"))
    assert read == lines


def test_source_lines_follow_the_file_on_a_large_parallel_parse(tmp_path: Path) -> None:
    """DuckDB parses big files in parallel; line numbers must still be the file's own, rejects included."""
    db = tmp_path / "w.duckdb"
    folder = _clean_batch(tmp_path / "b1")
    rows = 300_000
    with (folder / "observations.csv").open("w") as handle:
        handle.write("DATE,PATIENT,ENCOUNTER,CATEGORY,CODE,DESCRIPTION,VALUE,UNITS,TYPE\n")
        for line in range(2, rows + 2):
            if line in (1_000, 250_000):
                handle.write("2024-03-01T10:00:00Z,p1,e1,too,few\n")
            else:
                handle.write(f"2024-03-01T10:00:00Z,p1,e1,laboratory,X-{line},,{line},1,numeric\n")
    assert materialize_ingest(db, folder, "b1").success
    assert query(db, "select count(*), count(*) filter (where _source_line <> \"VALUE\"::bigint) "
                     "from raw.observations") == [(rows - 2, 0)]
    assert query(db, "select source_line from quarantine.rows order by 1") == [(1_000,), (250_000,)]
