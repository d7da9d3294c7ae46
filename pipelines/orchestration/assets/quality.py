"""Data-quality asset checks built from the suites: one check per expectation, one step per staging table.

`error` expectations are blocking checks (a failure stops the downstream phenotype and marts of the run, so the
last good outputs stay published); `warn` expectations never block. All expectations of a table run in one step
(one GX validation, one pass over the table) and report one check result each. The checks read staging (the
measurement: `pipelines/quality/run.py`) and append to `dq.check_results`; they never change staging.
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from pipelines.contract.suites import Suite, load_suites
from pipelines.faults import fault_point
from pipelines.orchestration.batch_context import BatchContext
from pipelines.orchestration.resources import DuckDBWarehouse, PipelinePaths
from pipelines.quality.run import measure_table
from pipelines.reports.data_docs import write_validation_page
from pipelines.reports.data_quality import write_data_quality_report


def staging_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(f"staging_{table}")


def build_quality_checks(suites_dir: Path) -> list[dg.AssetChecksDefinition]:
    """Asset checks for every `<table>.json` suite (with its generic checks) in `suites_dir`."""
    return [_suite_checks(suite) for suite in load_suites(suites_dir).values()]


def _suite_checks(suite: Suite) -> dg.AssetChecksDefinition:
    asset_key = staging_key(suite.table)
    specs = [
        dg.AssetCheckSpec(
            name=e.check_name,
            asset=asset_key,
            blocking=e.severity == "error",
            description=f"[{e.kahn_category}/{e.severity}, ≤ {e.threshold:g}% failing] {e.explanation}",
        )
        for e in suite.expectations
    ]

    @dg.multi_asset_check(
        name=f"validate_{suite.table}",
        specs=specs,
        description=f"Great Expectations suite {suite.path.name} on staging.{suite.table}, computed in DuckDB.",
    )
    def validate_table(
        context: dg.AssetCheckExecutionContext, warehouse: DuckDBWarehouse, paths: PipelinePaths
    ) -> Iterator[dg.AssetCheckResult]:
        reports_dir = Path(paths.reports_dir)
        with warehouse.connect() as con:
            batch_id = BatchContext.from_tags(context.run.tags).batch_or_latest(con)
            outcome = measure_table(con, suite, context.run.run_id, batch_id)
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
        for r in outcome.results:
            yield dg.AssetCheckResult(
                asset_key=asset_key,
                check_name=r.check_name,
                passed=r.status == "pass",
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
                },
            )

    return validate_table
