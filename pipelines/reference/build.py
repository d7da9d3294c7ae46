"""The reference layer `ref.*`, built once per run before anything reads it: every seed CSV as a table, the
phenotype version, the code-system labels in use, the tables derived from them (`sql/ref/*.sql`) and the official
ICD-10-CM titles of the seeds' codes (`ref.icd10cm_titles`, kept while the phenotype version holds).

Staging reads the code-system map, validation reads the lab rules and value-set codes, the phenotype reads all of
it: one copy, one code normalisation (`ref.value_set_codes.code_key`).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.contract.code_systems import code_system_labels
from pipelines.reference import seeds
from pipelines.reference.icd10cm_titles import TITLES_TABLE, ensure_icd10cm_titles
from pipelines.warehouse import materialize_table

CODE_SYSTEM_MAP = "ref.code_system_map"
# Derived from the seeds by sql/ref/<table>.sql, in build order.
DERIVED_TABLES = ("ref.value_set_codes", "ref.parameters", "ref.lab_plausible_ranges", "ref.lab_codes", "ref.lab_rules")


def build_reference_data(
    con: duckdb.DuckDBPyConnection, seeds_dir: Path = seeds.SEEDS_DIR, code_system_map_file: Path | None = None
) -> tuple[str, dict[str, int]]:
    """Loads every seed into `ref`, writes the phenotype version and the code-system labels in use (the project's
    and the site's), builds the derived tables; returns the version and rows per table."""
    counts = {f"ref.{table}": rows for table, rows in seeds.load_seeds(con, seeds_dir).items()}
    counts[CODE_SYSTEM_MAP] = write_code_system_map(con, code_system_map_file)
    version = seeds.phenotype_version(seeds_dir, code_system_map_file)
    seeds.write_version(con, version)
    for table in DERIVED_TABLES:
        schema, name = table.split(".")
        counts[table] = materialize_table(con, table, f"{schema}/{name}.sql")
    counts[TITLES_TABLE] = ensure_icd10cm_titles(con, version)
    relation = con.sql("select * from ref.parameters")
    values = zip(relation.columns, relation.fetchone(), strict=True)
    missing = [name for name, value in values if value is None]
    if missing:
        # a window or threshold that silently became NULL would silently empty a flag
        raise ValueError(f"phenotype_parameters.csv lacks parameter(s): {', '.join(missing)}")
    return version, counts


def write_code_system_map(con: duckdb.DuckDBPyConnection, site_file: Path | None = None) -> int:
    """(Re)creates `ref.code_system_map` (source_system, code_system, origin, note): the project's and the site's
    SYSTEM labels, as staging matches them."""
    labels = code_system_labels(site_file)
    con.execute("create schema if not exists ref")
    con.execute(
        f"create or replace table {CODE_SYSTEM_MAP} "
        "(source_system varchar not null, code_system varchar not null, origin varchar not null, note varchar)"
    )
    con.executemany(
        f"insert into {CODE_SYSTEM_MAP} values (?, ?, ?, ?)",
        [(label.source_system, label.code_system, label.origin, label.note) for label in labels],
    )
    return len(labels)
