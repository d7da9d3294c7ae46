"""Seed CSVs under sql/seeds/ loaded into schema `ref` with the column types of `sql/seeds/schema.yml` (never
sniffed), and the phenotype version.

The phenotype version is the base version from `phenotype_parameters.csv` plus a hash over the bytes of every
seed file and of the site's code-system map (when the site has one), so that any change to a value set, unit,
window, threshold or accepted code-system label is visible on every output row.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import duckdb

from pipelines import SQL_DIR
from pipelines.contract.code_systems import site_map_bytes
from pipelines.contract.tables import folder_contracts

SEEDS_DIR = SQL_DIR / "seeds"


def seed_files(seeds_dir: Path = SEEDS_DIR) -> list[Path]:
    """Every seed CSV, sorted by file name (the order the version hash reads them in)."""
    return sorted(seeds_dir.glob("*.csv"), key=lambda p: p.name)


def phenotype_version(seeds_dir: Path = SEEDS_DIR, code_system_map_file: Path | None = None) -> str:
    """`<base version>+<first 8 hex of SHA-256 over all seed files and the site's code-system map>`,
    e.g. `cramp-risk-2+1a2b3c4d`. Without a site map the hash is over the seed files alone."""
    digest = hashlib.sha256()
    for path in seed_files(seeds_dir):
        # The name is hashed too, so that renaming a seed (a different table) changes the version.
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    if code_system_map_file is not None:
        # its contents, not its name: a site may keep the file anywhere
        digest.update(b"\0site code-system map\0")
        digest.update(site_map_bytes(code_system_map_file))
    return f"{base_version(seeds_dir)}+{digest.hexdigest()[:8]}"


def base_version(seeds_dir: Path = SEEDS_DIR) -> str:
    with (seeds_dir / "phenotype_parameters.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["parameter"] == "phenotype_base_version":
                return row["value"]
    raise ValueError("phenotype_parameters.csv has no phenotype_base_version")


def load_seeds(con: duckdb.DuckDBPyConnection, seeds_dir: Path = SEEDS_DIR) -> dict[str, int]:
    """Creates or replaces `ref.<file stem>` for every seed CSV; returns row counts per table."""
    con.execute("create schema if not exists ref")
    counts: dict[str, int] = {}
    for path in seed_files(seeds_dir):
        table = path.stem
        with path.open(newline="") as handle:
            header = next(csv.reader(handle))
        contract = folder_contracts("seeds").get(table)
        declared = contract.columns if contract else {}
        if declared and list(declared) != header:
            raise ValueError(f"{path.name}: header {header} differs from declared columns {list(declared)}")
        columns = {name: declared.get(name, "varchar") for name in header}
        spec = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
        # Empty fields stay empty strings for text (an ABI delivered without a unit is the unit ''),
        # and NULL for typed columns.
        con.execute(
            f"create or replace table ref.{table} as "
            f"select * from read_csv(?, header = true, columns = {{{spec}}}, "
            f"quote = '\"', escape = '\"', nullstr = '\\N', auto_detect = false)",
            [str(path)],
        )
        counts[table] = con.execute(f"select count(*) from ref.{table}").fetchone()[0]
    return counts


def write_version(con: duckdb.DuckDBPyConnection, version: str) -> None:
    """`ref.phenotype_version`: one row that every cohort model cross-joins onto its rows."""
    con.execute("create or replace table ref.phenotype_version (phenotype_version varchar not null)")
    con.execute("insert into ref.phenotype_version values (?)", [version])
