"""Every batch run leaves its whole Dagster event log as a text file beside its summary, whoever launched it; the
console only gets the reason."""

import json
from pathlib import Path

import dagster as dg

from pipelines.orchestration import sensors as automation
from pipelines.orchestration.partitions import SOURCE_DIR_TAG, TRIGGER_TAG, batch_partitions
from pipelines.settings import Settings


@dg.asset(partitions_def=batch_partitions)
def raw_patients(context: dg.AssetExecutionContext) -> None:
    raise dg.Failure(description="patients.csv: required columns Id, GENDER missing")


def test_a_run_dagster_launched_leaves_its_event_log_beside_its_summary(tmp_path: Path) -> None:
    settings = Settings(db_path=tmp_path / "absent.duckdb", runs_dir=tmp_path / "runs")
    job = dg.Definitions(assets=[raw_patients], jobs=[dg.define_asset_job("process_batch")]).resolve_job_def(
        "process_batch"
    )
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(batch_partitions.name, ["2026-01-01"])
        result = job.execute_in_process(
            partition_key="2026-01-01",
            instance=instance,
            tags={SOURCE_DIR_TAG: "/landing/2026-01-01", TRIGGER_TAG: "sensor"},
            raise_on_error=False,
        )
        sensor = {s.name: s for s in automation.build_run_reporting_sensors(settings)}["run_summary_on_failure"]
        sensor(
            dg.build_run_status_sensor_context(
                sensor_name=sensor.name,
                dagster_event=result.get_run_failure_event(),
                dagster_instance=instance,
                dagster_run=instance.get_run_by_id(result.run_id),
            )
        )
    (summary,) = (json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*.json"))
    log = Path(summary["log_file"])
    assert log.parent == tmp_path / "runs" and log.name == f"2026-01-01_{result.run_id[:8]}.log"
    text = log.read_text()
    assert "required columns Id, GENDER missing" in text
    assert "Stack Trace" in text  # the failure with where it happened, kept out of the console
