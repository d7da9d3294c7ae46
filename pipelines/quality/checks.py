"""Dagster asset checks built from the suite files: one check per expectation, one step per staging table.

`error` expectations are blocking checks (a failure stops the downstream phenotype and marts of the run, so the
last good outputs stay published); `warn` expectations never block. All expectations of a table run in one
step (one GX validation, one pass over the table) and report one check result each.
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from pipelines.faults import fault_point
from pipelines.quality.suites import Suite, load_suites
from pipelines.resources import DuckDBWarehouse, PipelinePaths

PARTITION_TAG = "dagster/partition"


def staging_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(f"staging_{table}")


def build_quality_defs(suites_dir: Path) -> dg.Definitions:
    """Asset checks for every `<table>.json` in `suites_dir`, plus the `data_quality_report` asset."""
    suites = load_suites(suites_dir)
    checks = [_suite_checks(suite) for suite in suites.values()]
    return dg.Definitions(asset_checks=checks, assets=[_report_asset(sorted(suites))])


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
        from pipelines.quality.report import write_data_quality_report
        from pipelines.quality.run import run_table_validation

        reports_dir = Path(paths.reports_dir)
        with warehouse.connect() as con:
            outcome = run_table_validation(
                con, suite, context.run.run_id, context.run.tags.get(PARTITION_TAG), reports_dir / "gx"
            )
            fault_point("validation")
            if outcome.blocking_failures:
                # Downstream (including the report asset) will not run: leave the steward the reason now.
                write_data_quality_report(con, reports_dir)
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


def _report_asset(tables: list[str]) -> dg.AssetsDefinition:
    @dg.asset(
        name="data_quality_report",
        deps=[staging_key(t) for t in tables],
        group_name="quality",
        kinds={"duckdb", "html"},
    )
    def data_quality_report(warehouse: DuckDBWarehouse, paths: PipelinePaths) -> dg.MaterializeResult:
        """One self-contained HTML file (reports_dir/data_quality.html) over dq.check_results and quarantine."""
        from pipelines.quality.report import write_data_quality_report

        with warehouse.connect() as con:
            path = write_data_quality_report(con, Path(paths.reports_dir))
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path))})

    return data_quality_report
