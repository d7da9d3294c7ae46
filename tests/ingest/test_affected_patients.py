"""The patients a batch can change (ingest/affected.py), on hand-built raw tables a reader can check by eye."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.ingest.affected import affected_patients
from pipelines.warehouse import read_sql


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(read_sql("staging/_macros.sql"))
    con.execute("create schema raw")
    con.execute("create schema b")
    # encounters landed before the batch: e1 under p1, then re-delivered under p0 (p0's copy is current); e2 (p2),
    # e3 (p3)
    con.execute('create table raw.encounters ("Id" varchar, PATIENT varchar, _batch_id varchar)')
    con.execute(
        "insert into raw.encounters values ('e1', 'p1', '1'), ('e1', 'p0', '2'), ('e2', 'p2', '1'), ('e3', 'p3', '1')"
    )
    return con


def _raw(con: duckdb.DuckDBPyConnection, name: str, columns: str, rows: list[tuple]) -> str:
    con.execute(f"create table b.{name} ({columns})")
    if rows:
        con.executemany(f"insert into b.{name} values ({', '.join('?' * len(rows[0]))})", rows)
    return f"b.{name}"


def _patients(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("select patient_id from temp._affected_patients").fetchall()}


def test_every_patient_with_a_row_in_the_batch(con: duckdb.DuckDBPyConnection) -> None:
    tables = [
        ("patients", _raw(con, "patients", '"Id" varchar, BIRTHDATE varchar', [(" p4 ", "2000-01-01")])),
        ("conditions", _raw(con, "conditions", "PATIENT varchar, ENCOUNTER varchar", [("p5", "e9"), ("", "e9")])),
        ("observations", _raw(con, "observations", "PATIENT varchar, ENCOUNTER varchar", [(None, "e1")])),
    ]
    assert affected_patients(con, tables) == 2
    assert _patients(con) == {"p4", "p5"}  # ids trimmed as staging trims them; empty and NULL are nobody


def test_the_patient_an_encounter_is_moved_away_from(con: duckdb.DuckDBPyConnection) -> None:
    encounters = _raw(
        con,
        "encounters",
        '"Id" varchar, PATIENT varchar',
        [("e1", "p9"), ("e2", "p2"), ("e7", "p7")],  # e1 moves from p0 to p9; e2 stays with p2; e7 is new
    )
    affected_patients(con, [("encounters", encounters)])
    # p0 loses e1 (its events at e1 stop resolving); p1's old copy of e1 is superseded by another row now
    assert _patients(con) == {"p9", "p2", "p7", "p0", "p1"}


def test_the_replaced_delivery_of_a_rerun_batch_counts_too(con: duckdb.DuckDBPyConnection) -> None:
    """A re-delivered batch that drops patient p3's rows changes p3 (its rows leave staging)."""
    new = _raw(con, "patients_new", '"Id" varchar', [("p1",)])
    old = _raw(con, "patients_old", '"Id" varchar', [("p1",), ("p3",)])
    affected_patients(con, [("patients", new), ("patients", old)])
    assert _patients(con) == {"p1", "p3"}


def test_an_empty_batch_affects_nobody(con: duckdb.DuckDBPyConnection) -> None:
    assert affected_patients(con, []) == 0
    assert affected_patients(con, [("patients", _raw(con, "patients", '"Id" varchar', []))]) == 0
