"""Reference tables the SQL expectations join to (`dq.lab_rules`, `dq.value_set_codes`), built from the seeds.

The suites name value sets and measures, never codes: the codes stay in `sql/seeds/*.csv`, shared with the
phenotype, so a unit or code added there is judged the same way by the checks and by the flags.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines import SQL_DIR
from pipelines.sql_runner import materialize_table

REFERENCE_TABLES = {"dq.lab_rules": "dq/lab_rules.sql", "dq.value_set_codes": "dq/value_set_codes.sql"}


def prepare_reference_tables(con: duckdb.DuckDBPyConnection, seeds_dir: Path = SQL_DIR / "seeds") -> None:
    """(Re)builds the reference tables from the seed CSVs."""
    for table, sql_file in REFERENCE_TABLES.items():
        materialize_table(con, table, sql_file, seeds_dir=Path(seeds_dir).as_posix())
