"""The Dagster code location: wires the assets, checks, job, sensors, schedule and resources together."""

import dagster as dg

from pipelines.contract.suites import load_suites
from pipelines.orchestration.assets.cohort import cohort_assets, cohort_checks, version_diff
from pipelines.orchestration.assets.ingest import ingest_assets
from pipelines.orchestration.assets.marts import marts, published_snapshot
from pipelines.orchestration.assets.quality import build_quality_checks
from pipelines.orchestration.assets.reports import build_data_quality_report, dashboard, definition_page
from pipelines.orchestration.jobs import process_batch
from pipelines.orchestration.progress import progress_logger
from pipelines.orchestration.resources import DuckDBWarehouse, PipelinePaths, spark_engine
from pipelines.orchestration.schedules import build_daily_schedule
from pipelines.orchestration.sensors import build_landing_sensor, build_run_reporting_sensors
from pipelines.settings import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    """The whole graph bound to one settings object (the CLI builds its own; `dagster dev` uses `defs`)."""
    tables = sorted(load_suites(settings.expectations_dir))
    return dg.Definitions(
        assets=[
            *ingest_assets,
            *cohort_assets.values(),
            version_diff,
            marts,
            published_snapshot,
            dashboard,
            definition_page,
            build_data_quality_report(tables),
        ],
        asset_checks=[*build_quality_checks(settings.expectations_dir), *cohort_checks],
        jobs=[process_batch],
        schedules=[build_daily_schedule(settings)],
        sensors=[build_landing_sensor(settings), *build_run_reporting_sensors(settings)],
        resources={
            "warehouse": DuckDBWarehouse.from_settings(settings),
            "paths": PipelinePaths.from_settings(settings),
            "spark": spark_engine(settings),
        },
        # DuckDB allows one writing process per file: run every step in the run's own process.
        executor=dg.in_process_executor,
        loggers={"console": dg.colored_console_logger, "progress": progress_logger},
    )


defs = build_definitions(Settings.load())
