"""Running the asset graph for one batch folder, in this process: what the CLI calls."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg

from pipelines.operations.outcome import BatchOutcome
from pipelines.orchestration.partitions import (
    ALLOW_OUT_OF_ORDER_TAG,
    FULL_TAG,
    SOURCE_DIR_TAG,
    TRIGGER_TAG,
    batch_partitions,
)
from pipelines.orchestration.run_log import outcome_from_run, write_run_log
from pipelines.orchestration.sensors import CLI_TRIGGER
from pipelines.settings import Settings
from pipelines.warehouse import holding_warehouse


def default_instance() -> dg.DagsterInstance:
    """The Dagster instance of DAGSTER_HOME (so `dagster dev` shows CLI runs), else a throwaway one."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def run_batch(
    source_dir: Path,
    batch_id: str | None = None,
    *,
    settings: Settings | None = None,
    instance: dg.DagsterInstance | None = None,
    allow_out_of_order: bool = False,
    full: bool = False,
) -> BatchOutcome:
    """Materializes the whole graph for one batch folder; never raises for a failed run (WarehouseBusy aside:
    another run holds the warehouse, nothing was run)."""
    from pipelines.orchestration.definitions import build_definitions

    settings = settings or Settings.load()
    source_dir = Path(source_dir).resolve()
    batch_id = batch_id or source_dir.name
    instance = instance or default_instance()
    if not instance.has_dynamic_partition(batch_partitions.name, batch_id):
        instance.add_dynamic_partitions(batch_partitions.name, [batch_id])
    job = build_definitions(settings).resolve_job_def("process_batch")
    started = time.monotonic()
    tags = {SOURCE_DIR_TAG: str(source_dir), TRIGGER_TAG: CLI_TRIGGER}
    if allow_out_of_order:
        tags[ALLOW_OUT_OF_ORDER_TAG] = "true"
    if full:
        tags[FULL_TAG] = "true"
    with holding_warehouse(settings.db_path, f"batch {batch_id}"):
        result = job.execute_in_process(
            partition_key=batch_id,
            instance=instance,
            tags=tags,
            # Dagster prints nothing: one progress line per finished step (progress.py), a failure is reported
            # as one line (its reason) and the whole event log, stack traces included, goes to a file beside the
            # run summaries (write_run_log).
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}, "progress": {}}},
            raise_on_error=False,
        )
    outcome = outcome_from_run(instance, result.dagster_run, settings.db_path)
    outcome.seconds = round(time.monotonic() - started, 3)
    outcome.log_file = str(write_run_log(instance, result.dagster_run.run_id, settings.runs_dir, batch_id))
    return outcome

