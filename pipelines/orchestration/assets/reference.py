"""The reference layer: every seed in `ref`, loaded once per run before staging, validation and the phenotype."""

import dagster as dg

from pipelines.orchestration.resources import DuckDBWarehouse, PipelinePaths, SparkEngineParam
from pipelines.reference.build import build_reference_data
from pipelines.reference.on_spark import build_reference_data_on_spark
from pipelines.reference.seeds import phenotype_version


# The phenotype version as code version: Dagster marks everything downstream stale when a seed changes. (A site's
# code-system map enters the version written on the rows, not this marker: it is read when the asset runs.)
@dg.asset(group_name="reference", kinds={"duckdb"}, code_version=phenotype_version())
def reference_data(
    context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, paths: PipelinePaths, spark: SparkEngineParam
) -> dg.MaterializeResult:
    """One table per seed CSV in `ref` (value sets, units, parameters, rules), the tables derived from them, the
    code-system labels in use and the phenotype version; with the Spark engine, in Spark's tables too (the staging
    build in the DuckDB file reads the code-system map)."""
    with warehouse.connect() as con:
        version, counts = build_reference_data(con, code_system_map_file=paths.code_system_map)
    if spark is not None:
        build_reference_data_on_spark(
            spark.tables, code_system_map_file=paths.code_system_map, run_id=context.run.run_id
        )
    return dg.MaterializeResult(metadata={"rows": sum(counts.values()), "phenotype_version": version, **counts})
