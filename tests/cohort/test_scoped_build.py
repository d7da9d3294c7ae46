"""A phenotype build for some patients (the incremental path) equals a full rebuild, table by table, when the
patients whose staging rows changed are the scope; leaving one of them out is caught."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from cohort.test_determinism import cohort_tables, differing_rows
from vignettes.runner import VIGNETTES, materialize_extract

from pipelines.cohort.models import build_phenotype
from pipelines.contract.scope import Scope


@pytest.fixture(scope="module")
def vignette_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db_path = tmp_path_factory.mktemp("scoped") / "warehouse.duckdb"
    assert materialize_extract(db_path, VIGNETTES / "extract").success
    return db_path


def _change_some_patients(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Edits staging for a few patients the phenotype flags (what a new batch would do); returns them."""
    flagged = [
        r[0]
        for r in con.execute(
            "select patient_id from cohort.patient_flags order by patient_id limit 4"
        ).fetchall()
    ]
    assert len(flagged) == 4
    a, b, c, d = flagged
    con.execute("delete from staging.conditions where patient_id = ?", [a])  # loses its cramps and diagnoses
    con.execute("update staging.patients set birth_date = birth_date - interval 30 year where patient_id = ?", [b])
    con.execute("delete from staging.observations where patient_id = ?", [c])  # loses its labs
    # d gets a copy of a's conditions (new rows for d, with d's id)
    con.execute(
        "insert into staging.conditions select * replace (? as patient_id) from staging.conditions "
        "where patient_id = (select min(patient_id) from staging.conditions where patient_id not in (?, ?)) ",
        [d, a, d],
    )
    return flagged


def _build_both(vignette_db: Path, tmp_path: Path, scope_leaves_out: int) -> dict[str, int]:
    copy = tmp_path / "warehouse.duckdb"
    copy.write_bytes(vignette_db.read_bytes())
    with duckdb.connect(str(copy)) as con:
        tables = cohort_tables(con)
        changed = _change_some_patients(con)
        con.execute("create schema if not exists raw")
        con.execute("create table if not exists raw._affected_patients (batch_id varchar, patient_id varchar)")
        con.execute(
            "insert into raw._affected_patients select 'b1', unnest(?::varchar[])", [changed[scope_leaves_out:]]
        )
        build_phenotype(con, Scope("b1"))  # the incremental path
        con.execute("create schema scoped")
        for table in tables:
            con.execute(f"create table scoped.{table.replace('.', '__')} as select * from {table}")
        build_phenotype(con)  # the reference: a full rebuild over the same staging
        assert cohort_tables(con) == tables
        return {t: differing_rows(con, t, f"scoped.{t.replace('.', '__')}") for t in tables}


def test_a_build_for_the_changed_patients_equals_a_full_rebuild(vignette_db: Path, tmp_path: Path) -> None:
    differing = _build_both(vignette_db, tmp_path, scope_leaves_out=0)
    assert differing == dict.fromkeys(differing, 0)
    assert {"cohort.patient_flags", "cohort.flag_evidence", "cohort.attrition"} <= set(differing)


def test_a_scope_missing_a_changed_patient_differs(vignette_db: Path, tmp_path: Path) -> None:
    differing = _build_both(vignette_db, tmp_path, scope_leaves_out=1)
    assert differing["cohort.patient_flags"] > 0 or differing["cohort.flag_evidence"] > 0
