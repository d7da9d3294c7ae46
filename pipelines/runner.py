"""Running the asset graph for one batch folder, in process: what the CLI and tests call."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.partitions import SOURCE_DIR_TAG, batch_partitions
from pipelines.settings import Settings


@dataclass
class BatchOutcome:
    batch_id: str
    success: bool
    reason: str | None = None
    run_id: str | None = None
    rows_read: dict[str, int] = field(default_factory=dict)
    rows_loaded: dict[str, int] = field(default_factory=dict)
    rows_quarantined: dict[str, int] = field(default_factory=dict)
    checks_failed: list[str] = field(default_factory=list)
    cohort_size: int | None = None
    asset_timings: dict[str, float] = field(default_factory=dict)
    published: bool = False
    seconds: float = 0.0


def default_instance() -> dg.DagsterInstance:
    """The Dagster instance of DAGSTER_HOME (so `dagster dev` shows CLI runs), else a throwaway one."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def run_batch(
    source_dir: Path,
    batch_id: str | None = None,
    *,
    settings: Settings | None = None,
    instance: dg.DagsterInstance | None = None,
) -> BatchOutcome:
    """Materializes the whole graph for one batch folder; never raises for a failed run."""
    from pipelines.definitions import build_definitions

    settings = settings or Settings.load()
    source_dir = Path(source_dir).resolve()
    batch_id = batch_id or source_dir.name
    instance = instance or default_instance()
    if not instance.has_dynamic_partition(batch_partitions.name, batch_id):
        instance.add_dynamic_partitions(batch_partitions.name, [batch_id])
    job = build_definitions(settings).resolve_job_def("process_batch")
    started = time.monotonic()
    result = job.execute_in_process(
        partition_key=batch_id,
        instance=instance,
        tags={SOURCE_DIR_TAG: str(source_dir)},
        # Step events stay in the Dagster instance; the console gets warnings and errors only.
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        raise_on_error=False,
    )
    outcome = BatchOutcome(batch_id=batch_id, success=result.success, run_id=result.run_id)
    outcome.seconds = time.monotonic() - started
    outcome.reason = None if result.success else _failure_reason(result)
    outcome.checks_failed = [
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in result.get_asset_check_evaluations()
        if not e.passed
    ]
    outcome.asset_timings = _step_timings(instance, result.run_id)
    outcome.published = any(
        e.asset_key == dg.AssetKey("published_snapshot") for e in result.get_asset_materialization_events()
        if hasattr(e, "asset_key")
    )
    _read_counts(outcome, settings.db_path)
    return outcome


def _failure_reason(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            error = event.step_failure_data.user_failure_data
            if error is not None and error.description:
                return f"{event.step_key}: {error.description}"
            if event.step_failure_data.error is not None:
                return f"{event.step_key}: {event.step_failure_data.error.message.strip().splitlines()[-1]}"
    return "run failed"


def _step_timings(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    starts: dict[str, float] = {}
    timings: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or entry.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[entry.step_key] = entry.timestamp
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            if entry.step_key in starts:
                timings[entry.step_key] = round(entry.timestamp - starts[entry.step_key], 3)
    return timings


def _read_counts(outcome: BatchOutcome, db_path: Path) -> None:
    if not Path(db_path).exists():
        return
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        tables = {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
        if "dq.batch_reconciliation" in tables:
            for file, read, loaded, quarantined in con.execute(
                "select source_file, rows_read, rows_loaded, rows_quarantined from dq.batch_reconciliation "
                "where batch_id = ? order by source_file",
                [outcome.batch_id],
            ).fetchall():
                outcome.rows_read[file] = read
                outcome.rows_loaded[file] = loaded
                outcome.rows_quarantined[file] = quarantined
        if "cohort.patient_flags" in tables:
            outcome.cohort_size = con.execute("select count(*) from cohort.patient_flags").fetchone()[0]
    finally:
        con.close()
