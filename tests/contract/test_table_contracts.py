"""Every table has one machine-readable contract (`sql/<folder>/schema.yml`: grain, key, columns with types), and
the tables a real run builds hold to it: the columns in order with their types, the key unique. Every SQL model
has a contract whose grain opens the model as its leading comment."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from pipelines import SQL_DIR
from pipelines.contract.tables import FOLDERS, TableContract, all_contracts, folder_contracts

# Staging models are the typed views (one row per landed row); the staging build makes the tables from them.
MODEL_FOLDERS = ("intermediate", "cohort", "marts", "ref")


def contract_problems(con: duckdb.DuckDBPyConnection, contract: TableContract) -> list[str]:
    name = contract.qualified_name
    columns = con.execute(
        "select column_name, lower(data_type) from duckdb_columns() "
        "where database_name = current_database() and schema_name = ? and table_name = ? order by column_index",
        [contract.schema, contract.name],
    ).fetchall()
    if not columns:
        return [f"{name}: not built"]
    problems = []
    if columns != list(contract.columns.items()):
        problems.append(f"{name}: columns {columns} differ from the contract {list(contract.columns.items())}")
    if contract.key and not problems:
        key = ", ".join(contract.key)
        rows, keys = con.execute(f"select count(*), count(distinct ({key})) from {name}").fetchone()
        if rows != keys:
            problems.append(f"{name}: key ({key}) is not unique: {rows} rows, {keys} keys")
    return problems


@pytest.fixture(scope="module")
def sample(sample_warehouse: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(sample_warehouse), read_only=True)
    yield con
    con.close()


def test_every_table_of_a_real_run_holds_to_its_contract(sample: duckdb.DuckDBPyConnection) -> None:
    contracts = all_contracts()
    assert {c.schema for c in contracts.values()} == set(FOLDERS.values())
    problems = [p for contract in contracts.values() for p in contract_problems(sample, contract)]
    assert problems == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"columns": {"patient_id": "varchar"}}, "columns"),
        ({"key": ("sex",)}, "is not unique"),
        ({"name": "no_such_table"}, "not built"),
    ],
)
def test_a_broken_contract_is_reported(sample: duckdb.DuckDBPyConnection, change: dict, expected: str) -> None:
    contract = replace(all_contracts()["cohort.patient_flags"], **change)
    (problem,) = contract_problems(sample, contract)
    assert expected in problem


@pytest.mark.parametrize("folder", MODEL_FOLDERS)
def test_every_model_has_a_contract_whose_grain_opens_it(folder: str) -> None:
    contracts = folder_contracts(folder)
    models = {p.stem: p for p in sorted((SQL_DIR / folder).glob("*.sql")) if not p.name.startswith("_")}
    assert set(models) - set(contracts) == set(), "SQL models without a contract"
    for name, contract in contracts.items():
        if name not in models:
            assert contract.built_by, f"{folder}/{name}: neither a SQL model nor built_by"
            continue
        assert " ".join(_leading_comment(models[name]).split()).startswith(" ".join(contract.grain.split())), name


def _leading_comment(path: Path) -> str:
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("--"):
            break
        lines.append(line.removeprefix("--").strip())
    return " ".join(lines)
