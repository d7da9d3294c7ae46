"""What the Dagster UI shows of the tables: the column schema of every table asset from its contract, the row
count of every materialization, and a freshness policy on the published snapshot."""

from datetime import timedelta

import dagster as dg
import duckdb
from marts_synthetic import build_warehouse

from pipelines.contract.tables import table_contract
from pipelines.orchestration.assets.marts import marts
from pipelines.orchestration.definitions import build_definitions
from pipelines.orchestration.resources import DuckDBWarehouse, PipelinePaths
from pipelines.settings import Settings


def _graph(tmp_path):
    return build_definitions(Settings(db_path=tmp_path / "w.duckdb")).resolve_asset_graph()


def test_table_assets_carry_their_contract_as_column_schema(tmp_path):
    graph = _graph(tmp_path)
    tables = {}
    for key in graph.get_all_asset_keys():
        metadata = graph.get(key).metadata
        if "dagster/column_schema" in metadata:
            tables[key.to_user_string()] = metadata
    assert {"staging_patients", "patient_flags", "marts/cohort_periods", "version_diff", "raw_patients"} <= set(tables)
    for name, metadata in tables.items():
        table = metadata["dagster/table_name"]
        columns = [(c.name, c.type) for c in _schema(metadata).columns]
        if table.startswith("raw."):
            assert columns[-1] == ("_loaded_at", "timestamp"), name
            continue
        assert columns == list(table_contract(table).columns.items()), name
    key = _schema(tables["staging_patients"])
    assert next(c for c in key.columns if c.name == "patient_id").constraints.unique


def test_the_published_snapshot_has_a_freshness_policy(tmp_path):
    policy = _graph(tmp_path).get(dg.AssetKey("published_snapshot")).freshness_policy
    assert policy.fail_window.to_timedelta() == timedelta(hours=48)
    assert policy.warn_window.to_timedelta() == timedelta(hours=26)


def test_materializations_report_the_row_count(tmp_path):
    db = tmp_path / "w.duckdb"
    build_warehouse(db, patients=300, seed=8)
    paths = PipelinePaths(
        landing_dir=str(tmp_path / "landing"),
        reports_dir=str(tmp_path / "reports"),
        published_dir=str(tmp_path / "published"),
        runs_dir=str(tmp_path / "runs"),
        key_file=str(tmp_path / "hmac.key"),
    )
    resources = {"warehouse": DuckDBWarehouse(path=str(db)), "paths": paths, "spark": None}
    result = dg.materialize([marts], resources=resources)
    assert result.success
    counts = {
        m.asset_key.path[-1]: m.metadata["dagster/row_count"].value
        for m in result.asset_materializations_for_node("marts")
    }
    with duckdb.connect(str(db), read_only=True) as con:
        for name, rows in counts.items():
            assert con.execute(f"select count(*) from marts.{name}").fetchone()[0] == rows, name
    assert counts["cohort_periods"] > 0


def _schema(metadata) -> dg.TableSchema:
    value = metadata["dagster/column_schema"]
    return getattr(value, "schema", value)  # a TableSchemaMetadataValue once normalised, else the TableSchema


def test_the_volume_check_is_a_per_batch_check_of_the_raw_asset(tmp_path):
    from run_helpers import SAMPLE, settings_under

    from pipelines.orchestration.runner import run_batch

    settings = settings_under(tmp_path / "w")
    instance = dg.DagsterInstance.ephemeral()
    for batch in ("2026-05-31", "2026-06-30"):
        assert run_batch(SAMPLE / batch, batch, settings=settings, instance=instance).success
    key = dg.AssetCheckKey(dg.AssetKey("raw_patients"), "patients_volume_vs_previous_batch")
    history = instance.event_log_storage.get_asset_check_execution_history(key, limit=10)
    evaluations = sorted(
        (r.event.dagster_event.event_specific_data for r in history if r.event), key=lambda e: e.partition
    )
    assert [(e.partition, e.passed, e.metadata["status"].value) for e in evaluations] == [
        ("2026-05-31", True, "not_applicable"),  # the initial load: nothing before it
        ("2026-06-30", True, "not_applicable"),  # the initial load is no baseline for an incremental batch
    ]
    # the staging suite no longer declares it (one result per batch, not one per staging state)
    staging = dg.AssetCheckKey(dg.AssetKey("staging_patients"), "patients_volume_vs_previous_batch")
    assert instance.event_log_storage.get_asset_check_execution_history(staging, limit=10) == []
