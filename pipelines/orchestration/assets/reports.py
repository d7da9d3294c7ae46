"""Report assets: the files readers open (dashboard, phenotype definition, data-quality report), each drawn by the
reports room from a read-only connection."""

from pathlib import Path

import dagster as dg

from pipelines.marts.publish import SNAPSHOT_FILE
from pipelines.orchestration.assets.marts import published_snapshot
from pipelines.orchestration.resources import DuckDBWarehouse, PipelinePaths
from pipelines.reports.dashboard import rebuild_dashboard
from pipelines.reports.data_quality import write_data_quality_report
from pipelines.reports.definition_page import write_definition_page


@dg.asset(group_name="marts", kinds={"html"}, deps=[published_snapshot])
def dashboard(paths: PipelinePaths) -> dg.MaterializeResult:
    """One self-contained HTML file (reports_dir/dashboard.html) drawn from the marts of the published run."""
    # Read the published snapshot, not the warehouse: the page shows exactly what BI tools see.
    path = rebuild_dashboard(Path(paths.published_dir) / SNAPSHOT_FILE, Path(paths.reports_dir))
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)), "bytes": path.stat().st_size})


@dg.asset(group_name="marts", kinds={"html"}, deps=[published_snapshot])
def definition_page(warehouse: DuckDBWarehouse, paths: PipelinePaths) -> dg.MaterializeResult:
    """One self-contained HTML file (reports_dir/definition.html): the phenotype for clinicians, from the seeds
    the run loaded, with the published per-code counts and version diff."""
    with warehouse.connect(read_only=True) as con:
        path = write_definition_page(con, Path(paths.reports_dir))
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)), "bytes": path.stat().st_size})


def build_data_quality_report(tables: list[str]) -> dg.AssetsDefinition:
    @dg.asset(
        name="data_quality_report",
        deps=[dg.AssetKey(f"staging_{t}") for t in tables],
        group_name="quality",
        kinds={"duckdb", "html"},
    )
    def data_quality_report(warehouse: DuckDBWarehouse, paths: PipelinePaths) -> dg.MaterializeResult:
        """One self-contained HTML file (reports_dir/data_quality.html) over dq.check_results and quarantine."""
        with warehouse.connect(read_only=True) as con:
            path = write_data_quality_report(con, Path(paths.reports_dir))
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path))})

    return data_quality_report
