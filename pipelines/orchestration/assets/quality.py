"""Data-quality asset checks built from the suites: one check per expectation, one step per staging table.

`error` expectations are blocking checks (a failure stops the downstream phenotype and marts of the run, so the
last good outputs stay published); `warn` expectations never block. All expectations of a table run in one step
(one GX validation, one pass over the table) and report one check result each. The checks read staging (the
measurement: `pipelines/quality/run.py`) and append to `dq.check_results`; they never change staging.
"""

import warnings
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from pipelines.contract.suites import BATCH_VOLUME, ExpectationDef, Suite, load_suites
from pipelines.faults import fault_point
from pipelines.orchestration.batch_context import BatchContext
from pipelines.orchestration.partitions import batch_partitions
from pipelines.orchestration.resources import DuckDBWarehouse, PipelinePaths, SparkEngineParam
from pipelines.quality.run import batch_volume, measure_table
from pipelines.reports.data_docs import write_validation_page
from pipelines.reports.data_quality import write_data_quality_report
from pipelines.warehouse.engine_exchange import refresh_stale_spark_tables


def staging_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(f"staging_{table}")


def build_quality_checks(suites_dir: Path) -> list[dg.AssetChecksDefinition]:
    """Asset checks for every `<table>.json` suite (with its generic checks) in `suites_dir`: the suite's checks
    on `staging_<table>` (the current state over all batches), and its per-batch checks (the volume check) on
    `raw_<table>`, partitioned by batch like it, so the UI keeps one result per batch."""
    suites = load_suites(suites_dir).values()
    return [_suite_checks(suite) for suite in suites] + [
        _batch_check(suite, e) for suite in suites for e in suite.expectations if e.type == BATCH_VOLUME
    ]


def _batch_check(suite: Suite, expectation: ExpectationDef) -> dg.AssetChecksDefinition:
    with warnings.catch_warnings():
        # partitioned asset checks are a preview in Dagster 1.13 (pinned): the warning would reach every command
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return _partitioned_check(suite, expectation)


def _partitioned_check(suite: Suite, expectation: ExpectationDef) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(f"raw_{suite.table}"),
        name=expectation.check_name,
        partitions_def=batch_partitions,
        additional_deps=[staging_key(suite.table)],  # the batch's rows are counted by the staging build
        description=f"[{expectation.kahn_category}/{expectation.severity}, ≤ {expectation.threshold:g}% change] "
        f"{expectation.explanation}",
    )
    def batch_check(context: dg.AssetCheckExecutionContext, warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            r = batch_volume(con, expectation, suite.table, context.partition_key)
        return dg.AssetCheckResult(
            passed=r.status != "fail",
            severity=dg.AssetCheckSeverity.ERROR if r.severity == "error" else dg.AssetCheckSeverity.WARN,
            metadata={
                "status": r.status,
                "change_rows": r.failing_rows if r.failing_rows is not None else -1,
                "change_pct": round(r.failing_pct, 2) if r.failing_pct is not None else -1.0,
                "threshold_pct": r.threshold,
                "detail": r.detail,
            },
        )

    return batch_check


def _suite_checks(suite: Suite) -> dg.AssetChecksDefinition:
    asset_key = staging_key(suite.table)
    staged = [e for e in suite.expectations if e.type != BATCH_VOLUME]  # per-batch checks: _batch_check
    specs = [
        dg.AssetCheckSpec(
            name=e.check_name,
            asset=asset_key,
            blocking=e.severity == "error",
            description=f"[{e.kahn_category}/{e.severity}, ≤ {e.threshold:g}% failing] {e.explanation}",
        )
        for e in staged
    ]
    declared = {e.check_name for e in staged}

    @dg.multi_asset_check(
        name=f"validate_{suite.table}",
        specs=specs,
        description=f"Great Expectations suite {suite.path.name} on staging.{suite.table}, computed in DuckDB.",
    )
    def validate_table(
        context: dg.AssetCheckExecutionContext,
        warehouse: DuckDBWarehouse,
        paths: PipelinePaths,
        spark: SparkEngineParam,
    ) -> Iterator[dg.AssetCheckResult]:
        reports_dir = Path(paths.reports_dir)
        session = spark.spark_session if spark is not None else None
        with warehouse.connect() as con:
            if spark is not None:  # staging put back by a rollback since Spark built it (engine_exchange.py)
                refresh_stale_spark_tables(con, spark.tables, context.run.run_id)
            batch = BatchContext.from_tags(context.run.tags)
            batch_id = batch.batch_or_latest(con)
            # A batch run measures the batch's rows (on either path, so both record the same); a run without a
            # batch measures the whole table.
            outcome = measure_table(
                con, suite, context.run.run_id, batch_id, batch_rows_only=batch.batch_id is not None, spark=session
            )
            fault_point("validation")
            if outcome.blocking_failures:
                # Downstream (including the report asset) will not run: leave the steward the reason now.
                write_data_quality_report(con, reports_dir)
        try:
            if outcome.gx_result is not None:  # None: the suite holds generic checks only (no GX validation)
                write_validation_page(outcome.gx_result, reports_dir / "gx", suite.table)
        except Exception as exc:  # Data Docs are a convenience: never fail validation over them
            context.log.warning(f"GX Data Docs for {suite.table} not written: {exc}")
        for failure in outcome.blocking_failures:
            context.log.error(
                f"{failure.check_name} failed: {failure.failing_rows} of {failure.total_rows} rows "
                f"(threshold {failure.threshold:g}%); downstream assets are blocked"
            )
        for r in (r for r in outcome.results if r.check_name in declared):
            yield dg.AssetCheckResult(
                asset_key=asset_key,
                check_name=r.check_name,
                passed=r.status != "fail",  # not applicable (an empty table) is no failure
                severity=dg.AssetCheckSeverity.ERROR if r.severity == "error" else dg.AssetCheckSeverity.WARN,
                metadata={
                    "failing_rows": r.failing_rows if r.failing_rows is not None else -1,
                    "total_rows": r.total_rows,
                    "failing_pct": round(r.failing_pct, 4) if r.failing_pct is not None else -1.0,
                    "threshold_pct": r.threshold,
                    "kahn_category": r.kahn_category,
                    "severity": r.severity,
                    "rows_quarantined": outcome.quarantined.get(r.check_name, 0),
                    "batch_id": outcome.batch_id or "",
                    "explanation": r.explanation,
                    "detail": r.detail,
                    "status": r.status,
                },
            )

    return validate_table
