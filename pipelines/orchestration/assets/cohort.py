"""Cohort assets: the cramp phenotype (`intermediate.*` then `cohort.*`), one asset per group of SQL models of
`pipelines/cohort/models.py`, its checks, and the version diff. Each asset's upstream assets are the tables its SQL
reads (`contract/sql_refs.py`): nothing here lists them by hand."""

import dagster as dg

from pipelines.cohort.build_state import record_build
from pipelines.cohort.checks import (
    evidence_matches_flags,
    excluded_lab_counts,
    male_pregnancy_codes,
    unmatched_code_system_labels,
)
from pipelines.cohort.models import ASSET_MODELS, asset_reads, build_asset, build_asset_on_spark, producer
from pipelines.cohort.version_diff import record_version_diff
from pipelines.contract.tables import table_contract
from pipelines.faults import fault_point
from pipelines.orchestration.assets.reference import reference_data
from pipelines.orchestration.batch_context import BatchContext
from pipelines.orchestration.processing_path import definitions_signature, run_scope
from pipelines.orchestration.resources import DuckDBWarehouse, PipelinePaths, SparkEngineParam
from pipelines.orchestration.table_metadata import row_count_metadata, table_definition_metadata
from pipelines.warehouse import row_count, table_exists

GROUP = "cohort"
# The cohort reads staging only once the run's batch is accepted (all its files loaded, its blocking checks passed).
ACCEPTED_BATCH = dg.AssetKey("accepted_batch")


def upstream_assets(asset: str) -> list[dg.AssetKey]:
    """The assets producing the tables an asset's SQL reads."""
    keys: set[dg.AssetKey] = set()
    for table in asset_reads(asset):
        schema, name = table.split(".")
        if schema == "staging":
            keys |= {dg.AssetKey(f"staging_{name}"), ACCEPTED_BATCH}
        elif schema == "ref":
            keys.add(reference_data.key)
        elif producer(table) is not None:
            keys.add(dg.AssetKey(producer(table)))
        else:
            raise ValueError(f"{asset} reads {table}, which no asset builds")
    return sorted(keys, key=lambda key: key.to_user_string())


def _cohort_asset(asset: str) -> dg.AssetsDefinition:
    table = ASSET_MODELS[asset][-1]

    @dg.asset(
        name=asset,
        deps=upstream_assets(asset),
        group_name=GROUP,
        kinds={"duckdb"},
        description=f"{table_contract(table).grain[:1].upper()}{table_contract(table).grain[1:]} ({table}).",
        metadata=table_definition_metadata(table),
    )
    def build(
        context: dg.AssetExecutionContext,
        warehouse: DuckDBWarehouse,
        paths: PipelinePaths,
        spark: SparkEngineParam,
    ) -> dg.MaterializeResult:
        extra: dict[str, object] = {}
        with warehouse.connect() as con:
            scope = run_scope(con, BatchContext.from_tags(context.run.tags).batch_id)
            if spark is None:
                counts = build_asset(con, asset, scope)
            else:  # Spark rebuilds the asset's tables whole (a scoped build on Spark is not there yet)
                counts = build_asset_on_spark(con, spark.tables, asset, context.run.run_id)
            record_build(con, asset, definitions_signature(paths.suites_dir, paths.code_system_map))
            extra["processing_path"] = "full" if scope.is_full or spark is not None else "incremental"
            extra.update(row_count_metadata(con, table))
            version = con.execute("select phenotype_version from ref.phenotype_version").fetchone()[0]
            if asset == "lab_results":
                # lab rows excluded from flagging stay in staging; their counts travel with the asset
                extra.update({f"excluded_{reason}": rows for reason, rows in excluded_lab_counts(con).items()})
        fault_point("cohort")
        metadata: dict[str, object] = {"rows": counts[table], "phenotype_version": version, "table": table}
        metadata.update({f"rows {name}": rows for name, rows in counts.items() if name != table})
        metadata.update(extra)
        return dg.MaterializeResult(metadata=metadata)

    return build


cohort_assets = {asset: _cohort_asset(asset) for asset in ASSET_MODELS}


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb"},
    deps=[cohort_assets["patient_flags"]],
    metadata=table_definition_metadata("cohort.version_diff"),
)
def version_diff(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
    """cohort.version_diff when this run's phenotype version differs from the previous run's (kept otherwise);
    this run's flags become the baseline of the next comparison."""
    with warehouse.connect() as con:
        batch_id = BatchContext.from_tags(context.run.tags).batch_or_latest(con)
        outcome = record_version_diff(con, run_id=context.run.run_id, batch_id=batch_id)
        counted = row_count_metadata(con, "cohort.version_diff") if table_exists(con, "cohort.version_diff") else {}
    if outcome.previous_version is None:
        state = "first run of this warehouse: nothing to compare with"
    elif outcome.version_changed:
        state = f"version changed from {outcome.previous_version}: diff written"
    else:
        state = "same version as the previous run: the last diff is kept"
    metadata: dict[str, object] = {
        **counted,
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


@dg.asset_check(asset=cohort_assets["patient_flags"], blocking=True)
def flags_match_evidence(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    """Every true flag has evidence in cohort.flag_evidence, and no evidence exists without its flag."""
    with warehouse.connect(read_only=True) as con:
        mismatches = evidence_matches_flags(con)
    return dg.AssetCheckResult(
        passed=not mismatches,
        metadata={"mismatches": len(mismatches), "threshold": 0, "examples": str(mismatches[:10])},
    )


@dg.asset_check(asset=cohort_assets["patient_flags"], blocking=True)
def one_row_per_patient(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    """cohort.patient_flags has exactly one row per patient with a cramp event."""
    with warehouse.connect(read_only=True) as con:
        rows = row_count(con, "cohort.patient_flags")
        patients = con.execute("select count(distinct patient_id) from cohort.cramp_events").fetchone()[0]
        keyed = con.execute("select count(distinct patient_id) from cohort.patient_flags").fetchone()[0]
    return dg.AssetCheckResult(
        passed=rows == keyed == patients,
        metadata={"rows": rows, "distinct_patients": keyed, "cramp_patients": patients},
    )


@dg.asset_check(asset=cohort_assets["condition_matches"])
def condition_code_systems_matched(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    """Condition rows whose SYSTEM label matched no accepted code system (they match no value set), per label:
    reported, not fatal. A site maps its own spellings with the code_system_map_file setting."""
    with warehouse.connect(read_only=True) as con:
        labels = unmatched_code_system_labels(con)
    return dg.AssetCheckResult(
        passed=not labels,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "failing_rows": sum(labels.values()),
            "labels": len(labels),
            "threshold": 0,
            "kahn_category": "conformance",
            # the 20 labels with most rows, each cut to 80 characters (a label is delivered text)
            **{f"label {label[:80]}": rows for label, rows in list(labels.items())[:20]},
        },
    )


@dg.asset_check(asset=cohort_assets["pregnancy_episodes"])
def pregnancy_codes_on_male_patients(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    """Pregnancy evidence on a patient with sex M: a plausibility failure (never sets the flag)."""
    with warehouse.connect(read_only=True) as con:
        rows, patients = male_pregnancy_codes(con)
    return dg.AssetCheckResult(
        passed=rows == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"failing_rows": rows, "patients": patients, "threshold": 0, "kahn_category": "plausibility"},
    )


cohort_checks = [
    flags_match_evidence,
    one_row_per_patient,
    condition_code_systems_matched,
    pregnancy_codes_on_male_patients,
]
