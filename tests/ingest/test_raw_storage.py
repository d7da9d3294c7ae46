"""raw.<file> is a view over one table per landed batch file: swaps and lineage."""

from __future__ import annotations

from pathlib import Path

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
