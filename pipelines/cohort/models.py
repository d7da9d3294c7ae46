"""The phenotype's SQL models in build order, grouped by the Dagster asset that materializes them.

Each model is one file `sql/<schema>/<table>.sql` building `<schema>.<table>`. The same functions serve the
Dagster assets and the SQL unit tests, so tests exercise exactly the SQL the pipeline runs.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.cohort import seeds
from pipelines.cohort.code_systems import write_code_system_map
from pipelines.sql_runner import materialize_table

# asset name -> the tables it builds, in order (upstream first)
ASSET_MODELS: dict[str, tuple[str, ...]] = {
    "reference_data": ("ref.value_set_codes", "ref.parameters", "ref.lab_plausible_ranges", "ref.lab_codes"),
    "condition_matches": ("cohort.condition_matches",),
    "lab_results": ("cohort.lab_results",),
    "cramp_events": ("cohort.cramp_events",),
    "pregnancy_episodes": ("cohort.pregnancy_evidence", "cohort.pregnancy_intervals", "cohort.pregnancy_episodes"),
    "flag_evidence": (
        "cohort.calcium_corrected",
        "cohort.calcium_verdicts",
        "cohort.condition_windows",
        "cohort.evidence_conditions",
        "cohort.evidence_labs",
        "cohort.evidence_pregnancy",
        "cohort.evidence_age",
        "cohort.evidence_cramp_patterns",
        "cohort.flag_evidence",
    ),
    "patient_flags": ("cohort.patient_flags",),
    "care_gaps": ("cohort.care_gaps",),
    "cohort_attrition": ("cohort.attrition",),
}


def build_tables(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> dict[str, int]:
    """Materializes each `schema.table` from `sql/schema/table.sql`; returns row counts."""
    counts: dict[str, int] = {}
    for table in tables:
        schema, name = table.split(".")
        counts[table] = materialize_table(con, table, f"{schema}/{name}.sql")
    return counts


def build_reference_data(
    con: duckdb.DuckDBPyConnection, seeds_dir: Path = seeds.SEEDS_DIR, code_system_map_file: Path | None = None
) -> tuple[str, dict[str, int]]:
    """Loads every seed into `ref`, writes the phenotype version and the code-system labels in use (the project's
    and the site's), builds the derived ref tables."""
    counts = {f"ref.{table}": rows for table, rows in seeds.load_seeds(con, seeds_dir).items()}
    counts["ref.code_system_map"] = write_code_system_map(con, "ref.code_system_map", code_system_map_file)
    version = seeds.phenotype_version(seeds_dir, code_system_map_file)
    seeds.write_version(con, version)
    counts.update(build_tables(con, ASSET_MODELS["reference_data"]))
    relation = con.sql("select * from ref.parameters")
    values = zip(relation.columns, relation.fetchone(), strict=True)
    missing = [name for name, value in values if value is None]
    if missing:
        # a window or threshold that silently became NULL would silently empty a flag
        raise ValueError(f"phenotype_parameters.csv lacks parameter(s): {', '.join(missing)}")
    return version, counts


def build_phenotype(con: duckdb.DuckDBPyConnection, code_system_map_file: Path | None = None) -> str:
    """Builds every `ref` and `cohort` table in order over the current `staging`; returns the version."""
    version, _ = build_reference_data(con, code_system_map_file=code_system_map_file)
    for asset, tables in ASSET_MODELS.items():
        if asset != "reference_data":
            build_tables(con, tables)
    return version
