"""The table contracts: one `schema.yml` per folder of `sql/` (grain, key, columns with types), as dbt keeps one
beside its models. The staging build takes its natural keys from here, the generic data-quality checks their keys,
the marts their cell keys; the tests hold every built table to its contract."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import yaml

from pipelines import SQL_DIR

# folder of sql/ -> the schema its tables live in (the seeds load into ref under their file names)
FOLDERS = {
    "seeds": "ref",
    "ref": "ref",
    "staging": "staging",
    "intermediate": "intermediate",
    "cohort": "cohort",
    "marts": "marts",
}


@dataclass(frozen=True)
class TableContract:
    schema: str
    name: str
    grain: str
    key: tuple[str, ...]  # unique in every build; () for one-row tables
    columns: dict[str, str]  # name -> DuckDB type (lower case), in table order
    folder: str
    built_by: str | None = None  # the Python module writing it, when no SQL file of the folder does

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"


@cache
def folder_contracts(folder: str) -> dict[str, TableContract]:
    """The contracts of one folder of `sql/`, by table name."""
    doc = yaml.safe_load((SQL_DIR / folder / "schema.yml").read_text())
    return {
        name: TableContract(
            schema=FOLDERS[folder],
            name=name,
            grain=spec["grain"],
            key=tuple(spec.get("key") or ()),
            columns={column: str(kind) for column, kind in spec["columns"].items()},
            folder=folder,
            built_by=spec.get("built_by"),
        )
        for name, spec in doc["tables"].items()
    }


def all_contracts() -> dict[str, TableContract]:
    """Every contract by qualified name (a seed and the ref table it loads into are one contract)."""
    return {c.qualified_name: c for folder in FOLDERS for c in folder_contracts(folder).values()}


def table_contract(qualified_name: str) -> TableContract:
    schema, name = qualified_name.split(".")
    folders = [f for f, s in FOLDERS.items() if s == schema]
    for folder in folders:
        if name in folder_contracts(folder):
            return folder_contracts(folder)[name]
    raise KeyError(f"no contract for {qualified_name} in sql/{{{','.join(folders)}}}/schema.yml")


def natural_key(staging_table: str) -> tuple[str, ...]:
    """The natural key of `staging.<table>`: its newest row per key is the current one."""
    return table_contract(f"staging.{staging_table}").key


def column_ddl(qualified_name: str) -> str:
    """The contract's columns as a `create table` column list (`name type, ...`)."""
    return ", ".join(f"{name} {kind}" for name, kind in table_contract(qualified_name).columns.items())


# A contract type in Spark SQL's words where they differ (DuckDB's TIMESTAMP is a wall-clock time).
_SPARK_TYPES = {"varchar": "string", "timestamp": "timestamp_ntz"}


def spark_casts(qualified_name: str) -> list[str]:
    """The contract's columns as Spark `selectExpr` casts, in table order: a table the Spark engine writes has the
    contract's types (Spark's `row_number()` and some counts are INT where the contract says BIGINT)."""
    return [
        f"cast(`{name}` as {_SPARK_TYPES.get(kind, kind)}) as `{name}`"
        for name, kind in table_contract(qualified_name).columns.items()
    ]
