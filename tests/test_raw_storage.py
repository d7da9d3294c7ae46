"""raw.<file> is a view over one table per landed batch file: swaps, lineage, migration of the older layout."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.contract.synthea import LAYOUTS
from pipelines.ingest.raw_views import ensure_raw_view
from pipelines.warehouse import ensure_bookkeeping as ensure_schemas
from tests.ingest_helpers import base_encounters, base_patients, materialize_ingest, query, write_table

LAB = {"DATE": "2024-03-01T10:00:00Z", "PATIENT": "p1", "ENCOUNTER": "", "CODE": "17861-6", "VALUE": "8.1",
       "UNITS": "mg/dL", "TYPE": "numeric"}


def _batch(folder: Path, conditions: list[dict[str, str]], observations: list[dict[str, str]]) -> Path:
    write_table(folder, "patients", base_patients())
    write_table(folder, "encounters", base_encounters())
    write_table(folder, "conditions", conditions)
    write_table(folder, "observations", observations)
    return folder


def _condition(code: str) -> dict[str, str]:
    return {"START": "2024-03-01", "PATIENT": "p1", "ENCOUNTER": "e1", "SYSTEM": "SNOMED-CT", "CODE": code}


def test_each_batch_file_has_its_own_table_and_a_rerun_swaps_only_that_one(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    b1 = _batch(tmp_path / "b1", [_condition("1"), _condition("2")], [LAB])
    b2 = _batch(tmp_path / "b2", [_condition("3")], [])
    assert materialize_ingest(db, b1, "b1").success
    assert materialize_ingest(db, b2, "b2").success
    _batch(b1, [_condition("4")], [LAB])  # b1 re-delivered with other content
    assert materialize_ingest(db, b1, "b1").success

    assert query(db, "select table_type from information_schema.tables "
                     "where table_schema = 'raw' and table_name = 'conditions'") == [("VIEW",)]
    assert sorted(query(db, "select table_name from duckdb_tables() where schema_name = 'raw_batches' "
                            "and table_name like 'conditions@%'")) == [("conditions@b1",), ("conditions@b2",)]
    assert query(db, "select count(*) from duckdb_tables() where table_name like '%\\_\\_next' escape '\\'") \
        == [(0,)]
    assert query(db, "select _batch_id, CODE, _source_file, _source_line from raw.conditions order by 1, 2") == [
        ("b1", "4", "conditions.csv", 2), ("b2", "3", "conditions.csv", 2)]
    assert query(db, "select _batch_id, code from staging.conditions order by 1") == [("b1", "4"), ("b2", "3")]
    assert query(db, "select batch_id, rows_landed from raw._landed_files where source_file = 'conditions.csv' "
                     "order by 1") == [("b1", 1), ("b2", 1)]


def test_identical_rows_with_an_empty_key_part_supersede_each_other(tmp_path: Path) -> None:
    """An observation without encounter has a NULL key part: NULLs of a key part count as equal."""
    db = tmp_path / "w.duckdb"
    assert materialize_ingest(db, _batch(tmp_path / "b1", [], [LAB]), "b1").success
    assert materialize_ingest(db, _batch(tmp_path / "b2", [], [LAB]), "b2").success
    assert query(db, "select _batch_id from staging.observations") == [("b2",)]
    assert query(db, "select batch_id, source_line, superseded_by_batch_id, superseded_by_line "
                     "from dq.superseded_rows where source_file = 'observations.csv'") == [("b1", 2, "b2", 2)]


def test_the_shared_raw_table_of_an_older_release_is_migrated_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    layout = LAYOUTS["conditions"]
    columns = ", ".join(f'"{c}" varchar' for c in layout.columns)
    con = duckdb.connect(str(db))
    ensure_schemas(con)
    con.execute(
        f"create table raw.conditions ({columns}, _extra_columns varchar, _batch_id varchar, "
        "_source_file varchar, _source_line bigint, _loaded_at timestamp)"
    )
    con.execute(
        """
        insert into raw.conditions (START, PATIENT, CODE, _batch_id, _source_file, _source_line, _loaded_at)
        values
            ('2024-01-01', 'p1', 'c7', 'b1', 'conditions.csv', 7, timestamp '2026-01-02 03:04:05'),
            ('2024-01-01', 'p1', 'c3', 'b1', 'conditions.csv', 3, timestamp '2026-01-02 03:04:05'),
            ('2024-02-01', 'p2', 'c2', 'b2', 'conditions.csv', 2, timestamp '2026-02-02 03:04:05')
        """
    )
    ensure_raw_view(con, layout)
    ensure_raw_view(con, layout)  # the second call finds the view and changes nothing
    con.close()
    assert query(db, "select _batch_id, CODE, _source_line, _loaded_at::varchar from raw.conditions "
                     "order by 1, 3") == [
        ("b1", "c3", 3, "2026-01-02 03:04:05"),
        ("b1", "c7", 7, "2026-01-02 03:04:05"),
        ("b2", "c2", 2, "2026-02-02 03:04:05"),
    ]
    assert query(db, "select table_type from information_schema.tables "
                     "where table_schema = 'raw' and table_name = 'conditions'") == [("VIEW",)]
