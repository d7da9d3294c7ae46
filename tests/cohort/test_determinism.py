"""The phenotype is a function of the data, not of the order rows happen to be stored or scanned in: rebuilding
every cohort table over the same staging rows in other physical orders gives identical tables (no generated ids
from `row_number() over ()`, no tie broken by scan order)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from vignettes.runner import VIGNETTES, materialize_extract

from pipelines.cohort.models import build_phenotype, build_tables

STAGED = ("patients", "encounters", "conditions", "observations")


def cohort_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The phenotype's tables, `intermediate.*` then `cohort.*`, as `schema.table`."""
    return [
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = current_database() "
            "and schema_name in ('intermediate', 'cohort') order by 1 desc, 2"
        ).fetchall()
    ]


def differing_rows(con: duckdb.DuckDBPyConnection, left: str, right: str) -> int:
    """Rows of either table without an equal row in the other (duplicates counted)."""
    return con.execute(
        f"select count(*) from ((select * from {left} except all select * from {right}) "
        f"union all (select * from {right} except all select * from {left}))"
    ).fetchone()[0]


@pytest.fixture(scope="module")
def vignette_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db_path = tmp_path_factory.mktemp("order") / "warehouse.duckdb"
    assert materialize_extract(db_path, VIGNETTES / "extract").success
    return db_path


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cohort_tables_do_not_depend_on_row_order(vignette_db: Path, tmp_path: Path, seed: int) -> None:
    copy = tmp_path / "warehouse.duckdb"
    copy.write_bytes(vignette_db.read_bytes())
    with duckdb.connect(str(copy)) as con:
        tables = cohort_tables(con)
        expected = {"cohort.flag_evidence", "intermediate.pregnancy_evidence", "intermediate.calcium_corrected"}
        assert expected | {"cohort.patient_flags"} <= set(tables)
        con.execute("create schema first_build")
        for table in tables:
            con.execute(f"create table first_build.{table.replace('.', '__')} as select * from {table}")
        for table in STAGED:
            # another physical order of the same rows
            con.execute(
                f"create or replace table staging.{table} as select * from staging.{table} "
                f"order by hash(columns(*), {seed})"
            )
        build_phenotype(con)
        assert cohort_tables(con) == tables
        differing = {t: differing_rows(con, t, f"first_build.{t.replace('.', '__')}") for t in tables}
    assert differing == dict.fromkeys(tables, 0)


def test_a_code_in_two_value_sets_of_a_flag_is_reported_under_the_flags_own(vignette_db: Path) -> None:
    # I70.211 is in `pad` and `claudication` (both set pad); E11.40 is in `diabetic_neuropathy` and `diabetes`
    # (both set diabetic_neuropathy). One evidence row each, always under the same value set.
    with duckdb.connect(str(vignette_db), read_only=True) as con:
        rows = con.execute(
            """
            select patient_id, flag, value_set from cohort.flag_evidence
            where (patient_id, flag) in (
                ('claudication_sets_pad_and_mimic', 'pad'),
                ('claudication_sets_pad_and_mimic', 'mimic_claudication'),
                ('diabetic_neuropathy_code', 'diabetic_neuropathy')
            )
            order by all
            """
        ).fetchall()
    assert rows == [
        ("claudication_sets_pad_and_mimic", "mimic_claudication", "claudication"),
        ("claudication_sets_pad_and_mimic", "pad", "pad"),
        ("diabetic_neuropathy_code", "diabetic_neuropathy", "diabetic_neuropathy"),
    ]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_flag_evidence_does_not_depend_on_the_order_of_its_candidates(
    vignette_db: Path, tmp_path: Path, seed: int
) -> None:
    copy = tmp_path / "warehouse.duckdb"
    copy.write_bytes(vignette_db.read_bytes())
    candidates = (
        "evidence_conditions",
        "evidence_labs",
        "evidence_pregnancy",
        "evidence_age",
        "evidence_cramp_patterns",
    )
    with duckdb.connect(str(copy)) as con:
        con.execute("create table main.first_evidence as select * from cohort.flag_evidence")
        for table in candidates:
            con.execute(
                f"create or replace table intermediate.{table} as select * from intermediate.{table} "
                f"order by hash(columns(*), {seed})"
            )
        build_tables(con, ("cohort.flag_evidence",))
        assert differing_rows(con, "cohort.flag_evidence", "main.first_evidence") == 0
