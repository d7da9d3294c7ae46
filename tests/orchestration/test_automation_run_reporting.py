"""The run reporting sensors on real Dagster runs: summary JSON for every `process_batch` run, hook on failure.

A small stand-in `process_batch` job (same name and partitions as the real one) keeps this independent of the
rest of the graph; the end-to-end test covers the real job.
"""

import json
import sys
from pathlib import Path

import dagster as dg

from pipelines.orchestration import sensors as automation
from pipelines.orchestration.partitions import SOURCE_DIR_TAG, TRIGGER_TAG, batch_partitions
from pipelines.settings import Settings


@dg.asset(partitions_def=batch_partitions)
def raw_patients(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    if context.partition_key == "bad":
        raise dg.Failure(description="patients.csv: required column Id missing")
    return dg.MaterializeResult(metadata={"rows_loaded": 3})


@dg.asset_check(asset=raw_patients, blocking=False)
def has_rows() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, metadata={"failing_rows": 2})


def _run(instance: dg.DagsterInstance, partition: str) -> dg.ExecuteInProcessResult:
    job = dg.Definitions(
        assets=[raw_patients],
        asset_checks=[has_rows],
        jobs=[dg.define_asset_job("process_batch")],
    ).resolve_job_def("process_batch")
    instance.add_dynamic_partitions(batch_partitions.name, [partition])
    return job.execute_in_process(
        partition_key=partition,
        instance=instance,
        tags={SOURCE_DIR_TAG: f"/landing/{partition}", TRIGGER_TAG: "sensor"},
        raise_on_error=False,
    )


def _report(settings: Settings, instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> None:
    sensors = {s.name: s for s in automation.build_run_reporting_sensors(settings)}
    name = "run_summary_on_success" if result.success else "run_summary_on_failure"
    event = result.get_run_success_event() if result.success else result.get_run_failure_event()
    context = dg.build_run_status_sensor_context(
        sensor_name=name,
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
    )
    sensors[name](context)


def test_summaries_and_failure_hook_for_dagster_runs(tmp_path: Path) -> None:
    calls = tmp_path / "calls.txt"
    hook = tmp_path / "hook.py"
    hook.write_text(f"import sys\nopen({str(calls)!r}, 'a').write(sys.argv[-1] + '\\n')\n")
    settings = Settings(
        db_path=tmp_path / "absent.duckdb",  # no warehouse: counts come from materialization metadata
        runs_dir=tmp_path / "runs",
        failure_command=f"{sys.executable} {hook}",
    )
    with dg.DagsterInstance.ephemeral() as instance:
        good, bad = _run(instance, "good"), _run(instance, "bad")
        assert good.success and not bad.success
        _report(settings, instance, good)
        _report(settings, instance, bad)

    docs = {d["batch_id"]: d for d in (json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*.json"))}
    assert set(docs) == {"good", "bad"}
    assert docs["good"]["success"] and docs["good"]["run_id"] == good.run_id
    assert docs["good"]["rows_loaded"] == {"patients.csv": 3}
    assert docs["good"]["checks_failed"] == ["raw_patients:has_rows"]
    assert docs["good"]["checks"] == [{"check": "raw_patients:has_rows", "passed": False, "severity": "ERROR"}]
    assert "raw_patients" in docs["good"]["asset_timings_seconds"]
    assert docs["good"]["origin"] == "dagster:sensor" and docs["good"]["source_dir"] == "/landing/good"
    assert docs["bad"]["status"] == "failed"
    # The cause itself, not the step's name (which the summary keeps apart).
    assert docs["bad"]["reason"] == "patients.csv: required column Id missing"
    assert docs["bad"]["failed_step"] == "raw_patients"
    (call,) = calls.read_text().splitlines()  # the hook ran once, for the failed run only
    assert json.loads(Path(call).read_text())["batch_id"] == "bad"


def test_other_jobs_are_not_reported(tmp_path: Path) -> None:
    @dg.op
    def noop() -> None:
        pass

    @dg.job(name="something_else")
    def other() -> None:
        noop()

    settings = Settings(runs_dir=tmp_path / "runs")
    with dg.DagsterInstance.ephemeral() as instance:
        result = other.execute_in_process(instance=instance)
        sensor = {s.name: s for s in automation.build_run_reporting_sensors(settings)}["run_summary_on_success"]
        outcome = sensor(
            dg.build_run_status_sensor_context(
                sensor_name=sensor.name,
                dagster_event=result.get_run_success_event(),
                dagster_instance=instance,
                dagster_run=instance.get_run_by_id(result.run_id),
            )
        )
    assert isinstance(outcome, dg.SkipReason)
    assert not (tmp_path / "runs").exists()
