"""End to end: one landing folder processed by `cramp-cohort run --landing` and by the Dagster path
(landing sensor -> `process_batch` runs -> run reporting sensors), giving the same tables.

Real runs of the whole asset graph into `tmp_path` DuckDB files, real run summaries, a real failure command. Both
paths write one ledger of processed batches (`dq.batch_runs`), so mixing them on one warehouse re-runs nothing.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from test_landing import write_batch

from pipelines.cli import main as cli_main
from pipelines.operations.outcome import BatchOutcome
from pipelines.operations.processing import exit_code, process_landing, reprocess_all
from pipelines.orchestration import runner
from pipelines.orchestration import sensors as automation
from pipelines.orchestration.definitions import build_definitions
from pipelines.orchestration.partitions import batch_partitions
from pipelines.settings import Settings

COMPARED_TABLES = (
    "staging.patients",
    "staging.encounters",
    "staging.conditions",
    "staging.observations",
    "quarantine.rows",
    "dq.batch_reconciliation",
    "cohort.patient_flags",
)


def _landing(root: Path) -> Path:
    write_batch(root / "2026-11-01", ["p1", "p2"], [("p1", "c1", "2025-03-01")])
    # Re-delivers p1's condition row of the first batch, plus a new row.
    write_batch(root / "2026-11-02", ["p2", "p3"], [("p1", "c1", "2025-03-01"), ("p3", "c2", "2025-03-01")])
    # Fails a blocking check: a required column is missing.
    write_batch(root / "2026-11-03", ["p4"], [("p4", "c1", "2025-03-01")], drop_condition_columns=("CODE",))
    # Still being copied: no _SUCCESS.
    write_batch(root / "2026-11-04", ["p5"], [("p5", "c1", "2025-03-01")], complete=False)
    return root


def _env_settings(monkeypatch: pytest.MonkeyPatch, base: Path, landing: Path, **extra: str) -> Settings:
    """Point every setting below `base` through the environment, as a cron job would."""
    monkeypatch.chdir(base.parent)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("CRAMP_COHORT_CONFIG", raising=False)
    values = {
        "DB": base / "warehouse.duckdb",
        "LANDING": landing,
        "RUNS_DIR": base / "runs",
        "REPORTS_DIR": base / "reports",
        "PUBLISHED_DIR": base / "published",
        "KEY_FILE": base.parent / "hmac.key",
        **extra,
    }
    for name, value in values.items():
        monkeypatch.setenv(f"CRAMP_COHORT_{name}", str(value))
    return Settings.load()


def _query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _table(db: Path, table: str) -> list[tuple]:
    """Rows without the columns that record when (load and check times), which naturally differ."""
    schema, name = table.split(".")
    columns = [
        c
        for c, data_type in _query(
            db,
            "select column_name, data_type from information_schema.columns "
            f"where table_schema = '{schema}' and table_name = '{name}' order by ordinal_position",
        )
        if c not in {"run_id", "_loaded_at"} and not (schema != "staging" and data_type.startswith("TIMESTAMP"))
    ]
    return _query(db, f"select {', '.join(columns)} from {table} order by all")


def _summaries(runs_dir: Path) -> dict[str, dict]:
    return {doc["batch_id"]: doc for doc in (json.loads(p.read_text()) for p in sorted(runs_dir.glob("*.json")))}


def test_cli_and_dagster_paths_give_the_same_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    landing = _landing(tmp_path / "landing")
    hook_out = tmp_path / "hook_calls.txt"
    hook = tmp_path / "hook.py"
    hook.write_text(f"import sys\nopen({str(hook_out)!r}, 'a').write(sys.argv[-1] + '\\n')\n")
    cli = _env_settings(monkeypatch, tmp_path / "cli", landing, FAILURE_COMMAND=f"{sys.executable} {hook}")

    # --- cron: every complete batch once, in order; the failing one reported, exit 1 ------------------------
    assert cli_main(["run", "--landing", str(landing)]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("2026-11-")]
    assert [line.split()[:2] for line in lines] == [
        ["2026-11-01", "ok"],
        ["2026-11-02", "ok"],
        ["2026-11-03", "FAILED"],
    ]
    assert "CODE" in lines[2]
    db = cli.db_path
    # The re-delivered row is counted once; the newest batch holds it.
    assert _query(db, "select _batch_id from staging.conditions where patient_id = 'p1'") == [("2026-11-02",)]
    assert _query(db, "select count(*) from staging.conditions") == [(2,)]
    assert _query(
        db,
        "select rows_superseded from dq.batch_reconciliation "
        "where batch_id = '2026-11-01' and source_file = 'conditions.csv'",
    ) == [(1,)]
    assert _query(db, "select count(*) from raw.patients where _batch_id = '2026-11-03'") == [(0,)]
    summaries = _summaries(cli.runs_dir)
    assert set(summaries) == {"2026-11-01", "2026-11-02", "2026-11-03"}
    assert summaries["2026-11-01"]["success"] and summaries["2026-11-01"]["rows_loaded"]["conditions.csv"] == 1
    assert summaries["2026-11-02"]["rows_loaded"]["conditions.csv"] == 2
    assert "landed_batch" in summaries["2026-11-01"]["asset_timings_seconds"]
    assert summaries["2026-11-03"]["status"] == "failed" and "CODE" in summaries["2026-11-03"]["reason"]
    (hook_call,) = hook_out.read_text().splitlines()
    assert json.loads(Path(hook_call).read_text())["batch_id"] == "2026-11-03"
    ledger = _query(db, "select batch_id, success from dq.batch_runs order by batch_id")
    assert ledger == [("2026-11-01", True), ("2026-11-02", True), ("2026-11-03", False)]

    # --- Dagster on a fresh warehouse: the sensor's requests executed as the daemon would -------------------
    dagster_dir = tmp_path / "dagster"
    dagster_settings = Settings(
        landing_dir=landing,
        db_path=dagster_dir / "warehouse.duckdb",
        runs_dir=dagster_dir / "runs",
        reports_dir=dagster_dir / "reports",
        published_dir=dagster_dir / "published",
        key_file=cli.key_file,  # the same key: de-identified keys must match between the two warehouses
    )
    job = build_definitions(dagster_settings).resolve_job_def("process_batch")
    with dg.DagsterInstance.ephemeral() as instance:
        with dg.build_sensor_context(instance=instance, cursor=None) as context:
            tick = automation.build_landing_sensor(dagster_settings)(context)
        assert [r.partition_key for r in tick.run_requests] == ["2026-11-01", "2026-11-02", "2026-11-03"]
        instance.add_dynamic_partitions(batch_partitions.name, list(tick.dynamic_partitions_requests[0].partition_keys))
        reporting = {s.name: s for s in automation.build_run_reporting_sensors(dagster_settings)}
        for request in tick.run_requests:
            result = job.execute_in_process(
                partition_key=request.partition_key, tags=request.tags, instance=instance, raise_on_error=False
            )
            failures = [e.message for e in result.all_events if e.is_step_failure]
            assert result.success == (request.partition_key != "2026-11-03"), failures
            name = "run_summary_on_success" if result.success else "run_summary_on_failure"
            event = result.get_run_success_event() if result.success else result.get_run_failure_event()
            reporting[name](
                dg.build_run_status_sensor_context(
                    sensor_name=name,
                    dagster_event=event,
                    dagster_instance=instance,
                    dagster_run=instance.get_run_by_id(result.run_id),
                )
            )
    for table in COMPARED_TABLES:
        assert _table(dagster_settings.db_path, table) == _table(db, table), table
    dagster_summaries = _summaries(dagster_settings.runs_dir)
    assert set(dagster_summaries) == {"2026-11-01", "2026-11-02", "2026-11-03"}
    assert dagster_summaries["2026-11-03"]["status"] == "failed" and "CODE" in dagster_summaries["2026-11-03"]["reason"]
    assert dagster_summaries["2026-11-02"]["rows_loaded"] == summaries["2026-11-02"]["rows_loaded"]
    assert dagster_summaries["2026-11-02"]["rows_read"] == summaries["2026-11-02"]["rows_read"]
    assert dagster_summaries["2026-11-02"]["origin"] == "dagster:sensor"

    # --- next night: the half-copied batch completed; done batches skipped, the failed one retried ----------
    (landing / "2026-11-04" / "_SUCCESS").touch()
    assert cli_main(["run", "--landing", str(landing)]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("2026-11-")]
    assert [line.split()[:2] for line in lines] == [["2026-11-03", "FAILED"], ["2026-11-04", "ok"]]
    assert _query(db, "select count(*) from staging.conditions") == [(3,)]


def test_reprocess_replaces_rows_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.cli import main as cli

    root = logging.getLogger()  # the entry point configures logging: leave the root logger as found
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    landing = tmp_path / "landing"
    write_batch(landing / "2026-11-01", ["p1", "p2"], [("p1", "c1", "2025-03-01"), ("p2", "c2", "2025-03-01")])
    settings = _env_settings(monkeypatch, tmp_path / "w", landing)
    instance = dg.DagsterInstance.ephemeral()

    def run(path: Path, batch_id: str) -> BatchOutcome:
        return runner.run_batch(path, batch_id, settings=settings, instance=instance)

    assert exit_code(process_landing(landing, settings, run, echo=lambda _: None)) == 0
    before = {t: _table(settings.db_path, t) for t in COMPARED_TABLES}
    assert process_landing(landing, settings, run, echo=lambda _: None) == []  # nothing new
    assert cli(["reprocess"]) == 0  # every known batch again
    for table, rows in before.items():
        assert _table(settings.db_path, table) == rows, table
    lines: list[str] = []
    missing = reprocess_all(settings, run, ["2026-10-31"], echo=lines.append)
    assert [(o.batch_id, o.success) for o in missing] == [("2026-10-31", False)]
    assert "missing" in lines[-1]
    assert cli(["reprocess", "--batch", "2026-10-31"]) == 1
    assert _query(settings.db_path, "select origin, success from dq.batch_runs order by processed_at") == [
        ("landing", True),
        ("reprocess", True),
    ]
    monkeypatch.setenv("CRAMP_COHORT_SCHEDULE_TIMEZONE", "Nowhere/Land")
    assert cli(["reprocess"]) == 2  # bad configuration fails fast


def _batch_lines(capsys: pytest.CaptureFixture[str]) -> list[list[str]]:
    return [line.split()[:2] for line in capsys.readouterr().out.splitlines() if line.startswith("2026-11-")]


def test_cli_and_dagster_on_one_warehouse_never_rerun_each_others_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    landing = tmp_path / "landing"
    write_batch(landing / "2026-11-01", ["p1", "p2"], [("p1", "c1", "2025-03-01")])
    write_batch(landing / "2026-11-02", ["p3"], [("p3", "c2", "2025-03-01")], complete=False)
    settings = _env_settings(monkeypatch, tmp_path / "shared", landing)

    # cron runs the first batch
    assert cli_main(["run", "--landing", str(landing)]) == 0
    assert _batch_lines(capsys) == [["2026-11-01", "ok"]]

    job = build_definitions(settings).resolve_job_def("process_batch")
    sensor = automation.build_landing_sensor(settings)
    reported = {s.name: s for s in automation.build_run_reporting_sensors(settings)}["run_summary_on_success"]
    with dg.DagsterInstance.ephemeral() as instance:
        # the daemon, on the same warehouse: the batch the CLI ran is not requested again
        with dg.build_sensor_context(instance=instance, cursor=None) as context:
            assert sensor(context).run_requests == []
        # the second batch arrives: the sensor requests it alone and Dagster runs it
        (landing / "2026-11-02" / "_SUCCESS").touch()
        with dg.build_sensor_context(instance=instance, cursor=None) as context:
            tick = sensor(context)
        assert [r.partition_key for r in tick.run_requests] == ["2026-11-02"]
        instance.add_dynamic_partitions(batch_partitions.name, ["2026-11-02"])
        (request,) = tick.run_requests
        result = job.execute_in_process(partition_key=request.partition_key, tags=request.tags, instance=instance)
        reported(
            dg.build_run_status_sensor_context(
                sensor_name=reported.name,
                dagster_event=result.get_run_success_event(),
                dagster_instance=instance,
                dagster_run=instance.get_run_by_id(result.run_id),
            )
        )
    ledger = "select batch_id, success, origin from dq.batch_runs order by processed_at"
    assert _query(settings.db_path, ledger) == [("2026-11-01", True, "landing"), ("2026-11-02", True, "dagster:sensor")]

    # cron again: the batch Dagster ran is skipped, nothing runs, the ledger is unchanged
    assert cli_main(["run", "--landing", str(landing)]) == 0
    assert _batch_lines(capsys) == []
    assert len(_query(settings.db_path, ledger)) == 2
    assert _query(settings.db_path, "select count(distinct _batch_id) from staging.patients") == [(2,)]
