"""The version-diff asset: which patients' flags moved when the phenotype version changed (`cohort.version_diff`)."""

import dagster as dg

from pipelines.cohort.version_diff import record_version_diff
from pipelines.defs.marts import run_batch_id
from pipelines.resources import DuckDBWarehouse


@dg.asset(group_name="cohort", kinds={"duckdb"}, deps=[dg.AssetKey("patient_flags")])
def version_diff(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
    """cohort.version_diff when this run's phenotype version differs from the previous run's (kept otherwise);
    this run's flags become the baseline of the next comparison."""
    batch_id = run_batch_id(context, warehouse)
    with warehouse.connect() as con:
        outcome = record_version_diff(con, run_id=context.run.run_id, batch_id=batch_id)
    if outcome.previous_version is None:
        state = "first run of this warehouse: nothing to compare with"
    elif outcome.version_changed:
        state = f"version changed from {outcome.previous_version}: diff written"
    else:
        state = "same version as the previous run: the last diff is kept"
    metadata: dict[str, object] = {
        "phenotype_version": outcome.current_version,
        "previous_version": outcome.previous_version or "",
        "state": state,
        "diff_rows": outcome.diff_rows,
        "patients_moved": outcome.patients_moved,
    }
    if outcome.input_changed is not None:
        # A version change seen together with new input mixes data changes into the diff.
        metadata["input_changed_since_previous_run"] = outcome.input_changed
    return dg.MaterializeResult(metadata=metadata)


defs = dg.Definitions(assets=[version_diff])
