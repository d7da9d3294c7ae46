"""The landing sensor and the daily schedule, evaluated with Dagster's own testing utilities.

The definitions under test are the code location's own (the `process_batch` job over the `batches` partitions), so
run requests are validated against the real job.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from pipelines.orchestration.definitions import build_definitions
from pipelines.orchestration.partitions import SOURCE_DIR_TAG, batch_partitions
from pipelines.settings import Settings
from tests.operations.test_landing import write_batch, write_manifest


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    """A first batch, then one re-delivering a row, one failing a blocking check, one half-copied."""
    root = tmp_path / "landing"
    write_batch(root / "2026-11-01", ["p1", "p2"], [("p1", "c1", "2025-03-01")])
    write_batch(root / "2026-11-02", ["p2", "p3"], [("p1", "c1", "2025-03-01"), ("p3", "c2", "2025-03-01")])
    write_batch(root / "2026-11-03", ["p4"], [("p4", "c1", "2025-03-01")], drop_condition_columns=("CODE",))
    write_batch(root / "2026-11-04", ["p5"], [("p5", "c1", "2025-03-01")], complete=False)
    return root


def _instance(tmp_path: Path) -> dg.DagsterInstance:
    """A real on-disk instance (it has an instance ref, like the daemon's)."""
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    return dg.DagsterInstance.local_temp(str(home))


def _defs(settings: Settings) -> dg.Definitions:
    return build_definitions(settings)


def _evaluate(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult:
    repo = defs.get_repository_def()
    sensor = repo.get_sensor_def("landing_sensor")
    # With an instance ref (a real on-disk instance), Dagster resolves the run requests as the daemon does:
    # partition keys are validated against the instance plus this tick's partition requests.
    with dg.build_sensor_context(
        instance=instance, instance_ref=instance.get_ref(), cursor=cursor, repository_def=repo
    ) as context:
        return sensor.evaluate_tick(context)


def test_sensor_requests_each_complete_batch_once(landing: Path, tmp_path: Path) -> None:
    settings = Settings(landing_dir=landing, db_path=tmp_path / "w.duckdb", runs_dir=tmp_path / "runs")
    defs = _defs(settings)
    with _instance(tmp_path) as instance:
        first = _evaluate(defs, instance, cursor=None)
        assert [r.partition_key for r in first.run_requests] == ["2026-11-01", "2026-11-02", "2026-11-03"]
        assert all(r.job_name == "process_batch" for r in first.run_requests)
        assert len({r.run_key for r in first.run_requests}) == 3
        assert first.run_requests[0].tags[SOURCE_DIR_TAG] == str((landing / "2026-11-01").resolve())
        (add_request,) = first.dynamic_partitions_requests
        assert add_request.partitions_def_name == batch_partitions.name
        assert list(add_request.partition_keys) == ["2026-11-01", "2026-11-02", "2026-11-03"]
        assert set(json.loads(first.cursor)) == {"2026-11-01", "2026-11-02", "2026-11-03"}

        # The daemon applies the partition requests; do the same, then tick again with the new cursor.
        instance.add_dynamic_partitions(batch_partitions.name, list(add_request.partition_keys))
        second = _evaluate(defs, instance, cursor=first.cursor)
        assert second.run_requests == []
        assert "no new complete batch" in second.skip_message

        # The half-copied folder completes: exactly one new request, and no second add for known partitions.
        (landing / "2026-11-04" / "_SUCCESS").touch()
        third = _evaluate(defs, instance, cursor=second.cursor or first.cursor)
        assert [r.partition_key for r in third.run_requests] == ["2026-11-04"]
        assert list(third.dynamic_partitions_requests[0].partition_keys) == ["2026-11-04"]


def test_redelivered_batch_runs_again_with_a_new_run_key(landing: Path, tmp_path: Path) -> None:
    settings = Settings(landing_dir=landing, db_path=tmp_path / "w.duckdb")
    defs = _defs(settings)
    with _instance(tmp_path) as instance:
        first = _evaluate(defs, instance, cursor=None)
        instance.add_dynamic_partitions(batch_partitions.name, ["2026-11-01", "2026-11-02", "2026-11-03"])
        old_key = next(r.run_key for r in first.run_requests if r.partition_key == "2026-11-02")
        write_batch(landing / "2026-11-02", ["p2", "p3", "p6"], [("p3", "c2", "2025-03-01")])
        again = _evaluate(defs, instance, cursor=first.cursor)
        assert [r.partition_key for r in again.run_requests] == ["2026-11-02"]
        assert again.run_requests[0].run_key != old_key
        assert again.dynamic_partitions_requests == []  # the partition exists already


def test_manifest_mismatch_is_not_requested(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    folder = write_batch(landing / "2026-11-05", ["p1", "p2"], [], complete=False)
    write_manifest(folder, patients=5)
    defs = _defs(Settings(landing_dir=landing))
    with _instance(tmp_path) as instance:
        result = _evaluate(defs, instance, cursor=None)
    assert result.run_requests == []
    assert result.dynamic_partitions_requests == []


def test_schedule_requests_batches_no_run_covered_then_refreshes_newest(landing: Path, tmp_path: Path) -> None:
    settings = Settings(landing_dir=landing, schedule_cron="15 4 * * *", schedule_timezone="Europe/Berlin")
    defs = _defs(settings)
    repo = defs.get_repository_def()
    schedule = repo.get_schedule_def("daily_refresh")
    assert schedule.cron_schedule == "15 4 * * *"
    assert schedule.execution_timezone == "Europe/Berlin"
    when = datetime(2026, 11, 26, 3, 15, tzinfo=UTC)
    with _instance(tmp_path) as instance:
        with dg.build_schedule_context(
            instance=instance, scheduled_execution_time=when, repository_def=repo
        ) as context:
            catch_up = schedule.evaluate_tick(context).run_requests
        assert [r.partition_key for r in catch_up] == ["2026-11-01", "2026-11-02", "2026-11-03"]
        assert set(instance.get_dynamic_partitions(batch_partitions.name)) == {
            "2026-11-01",
            "2026-11-02",
            "2026-11-03",
        }
        # Record real (not executed) runs carrying the requests' tags: the deliveries count as covered.
        job = defs.resolve_job_def("process_batch")
        for request in catch_up:
            instance.create_run_for_job(job, tags=request.tags, run_config={})
        with dg.build_schedule_context(
            instance=instance, scheduled_execution_time=when, repository_def=repo
        ) as context:
            refresh = schedule.evaluate_tick(context).run_requests
        assert [(r.partition_key, r.run_key) for r in refresh] == [("2026-11-03", "refresh:2026-11-26:2026-11-03")]


def test_schedule_skips_on_an_empty_landing_folder(tmp_path: Path) -> None:
    repo = _defs(Settings(landing_dir=tmp_path / "empty")).get_repository_def()
    with _instance(tmp_path) as instance:
        with dg.build_schedule_context(instance=instance, repository_def=repo) as context:
            data = repo.get_schedule_def("daily_refresh").evaluate_tick(context)
    assert data.run_requests == []
    assert "no complete batch" in data.skip_message


def test_code_location_loads_with_schedule_and_sensors() -> None:
    from pipelines.orchestration.definitions import defs

    repo = defs.get_repository_def()
    assert {s.name for s in repo.schedule_defs} >= {"daily_refresh"}
    assert {s.name for s in repo.sensor_defs} >= {
        "landing_sensor",
        "run_summary_on_success",
        "run_summary_on_failure",
    }
    assert repo.get_sensor_def("landing_sensor").job_name == "process_batch"
    assert repo.get_schedule_def("daily_refresh").job_name == "process_batch"


def test_automation_status_setting_controls_default_status(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRAMP_COHORT_AUTOMATION_STATUS", raising=False)
    stopped = _defs(Settings(automation_status="stopped")).get_repository_def()
    assert stopped.get_sensor_def("landing_sensor").default_status == dg.DefaultSensorStatus.STOPPED
    assert stopped.get_schedule_def("daily_refresh").default_status == dg.DefaultScheduleStatus.STOPPED
    running = _defs(Settings()).get_repository_def()
    assert running.get_sensor_def("landing_sensor").default_status == dg.DefaultSensorStatus.RUNNING
    assert os.environ.get("CRAMP_COHORT_AUTOMATION_STATUS") is None
