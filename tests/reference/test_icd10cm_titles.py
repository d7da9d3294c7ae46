"""`ref.icd10cm_titles`: the official titles of the seeds' ICD-10-CM codes, looked up once per phenotype version and
read by the definition page, so a daily run does not load the tabular list (3-5 s) again."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.reference.build import build_reference_data
from pipelines.reference.icd10cm_titles import TITLES_TABLE, ensure_icd10cm_titles, seed_icd10cm_codes
from pipelines.reports.definition_page import write_definition_page


def _title(con: duckdb.DuckDBPyConnection, code: str) -> tuple:
    return con.execute(f"select title, codes_below from {TITLES_TABLE} where code = ?", [code]).fetchone()


def test_titles_hold_every_seed_code_with_its_official_title_and_codes_below() -> None:
    con = duckdb.connect()
    version, counts = build_reference_data(con)
    codes = seed_icd10cm_codes(con)
    assert counts[TITLES_TABLE] == len(codes) > 100
    assert con.execute(f"select list(code order by code) from {TITLES_TABLE}").fetchone()[0] == codes
    assert _title(con, "R25.2") == ("Cramp and spasm", 0)
    assert _title(con, "Z3A.00")[0] == "Weeks of gestation of pregnancy not specified"  # from gestation_weeks
    prefix = con.execute(
        "select code from ref.value_sets where code_system = 'ICD10CM' and match = 'prefix' limit 1"
    ).fetchone()[0]
    assert _title(con, prefix)[1] > 0
    assert con.execute(f"select count(distinct phenotype_version) from {TITLES_TABLE}").fetchone()[0] == 1
    assert con.execute(f"select any_value(phenotype_version) from {TITLES_TABLE}").fetchone()[0] == version


def test_titles_are_kept_while_the_version_holds_and_rebuilt_when_it_changes(tmp_path: Path) -> None:
    con = duckdb.connect()
    version, _ = build_reference_data(con)
    con.execute(f"update {TITLES_TABLE} set title = 'kept from the last run' where code = 'R25.2'")

    build_reference_data(con)  # same seeds, same version: the table is reused, not looked up again
    assert _title(con, "R25.2")[0] == "kept from the last run"
    html = write_definition_page(con, tmp_path / "out").read_text()
    assert "kept from the last run" in html  # the page reads the table, not the tabular list

    ensure_icd10cm_titles(con, version + "-changed")
    assert _title(con, "R25.2")[0] == "Cramp and spasm"


def test_a_changed_code_list_rebuilds_the_titles_even_under_the_same_version() -> None:
    con = duckdb.connect()
    version, _ = build_reference_data(con)
    con.execute(f"delete from {TITLES_TABLE} where code = 'R25.2'")
    ensure_icd10cm_titles(con, version)
    assert _title(con, "R25.2") == ("Cramp and spasm", 0)


def test_the_page_falls_back_to_the_tabular_list_without_the_table(tmp_path: Path) -> None:
    """A warehouse built before the table existed still gets official titles."""
    con = duckdb.connect()
    build_reference_data(con)
    con.execute(f"drop table {TITLES_TABLE}")
    html = write_definition_page(con, tmp_path / "out").read_text()
    assert "Cramp and spasm" in html
