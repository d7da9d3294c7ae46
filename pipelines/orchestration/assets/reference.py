"""The reference layer: every seed in `ref`, loaded once per run before staging, validation and the phenotype."""

import dagster as dg

from pipelines.orchestration.resources import DuckDBWarehouse, PipelinePaths
from pipelines.reference.build import build_reference_data
from pipelines.reference.seeds import phenotype_version


# The phenotype version as code version: Dagster marks everything downstream stale when a seed changes. (A site's
# code-system map enters the version written on the rows, not this marker: it is read when the asset runs.)
@dg.asset(group_name="reference", kinds={"duckdb"}, code_version=phenotype_version())
def reference_data(warehouse: DuckDBWarehouse, paths: PipelinePaths) -> dg.MaterializeResult:
    """One table per seed CSV in `ref` (value sets, units, parameters, rules), the tables derived from them, the
    code-system labels in use and the phenotype version."""
    with warehouse.connect() as con:
        version, counts = build_reference_data(con, code_system_map_file=paths.code_system_map)
    return dg.MaterializeResult(metadata={"rows": sum(counts.values()), "phenotype_version": version, **counts})
