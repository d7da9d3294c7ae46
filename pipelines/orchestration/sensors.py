"""Unattended operation in Dagster: the landing sensor, and run reporting for the runs Dagster launched.

- `landing_sensor` registers each new complete batch folder as a `batches` partition and requests one
  `process_batch` run for it (run key = batch id + delivery fingerprint: a re-delivered folder runs again). A
  delivery the ledger (`dq.batch_runs`) holds as processed, by the CLI or by an earlier run, is not requested.
- `run_summary_on_success` / `run_summary_on_failure` run the after-run routine (run summary, ledger row,
  failure hook) for runs launched by Dagster; the CLI runs its own for the runs it starts.
"""

import json

import dagster as dg

from pipelines.operations import ledger
from pipelines.operations.after_run import finish_batch_run
from pipelines.operations.landing import LandedBatch, scan_landing
from pipelines.orchestration.batch_context import BatchContext
from pipelines.orchestration.jobs import PROCESS_JOB
from pipelines.orchestration.partitions import FINGERPRINT_TAG, SOURCE_DIR_TAG, TRIGGER_TAG, batch_partitions
from pipelines.orchestration.run_log import outcome_from_run, write_run_log
from pipelines.settings import Settings
from pipelines.warehouse import WarehouseBusy

CLI_TRIGGER = "cli"  # runs the CLI started in-process: it reports them itself


def batch_run_request(batch: LandedBatch, trigger: str, run_key: str | None = None) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=run_key or batch.run_key,
        partition_key=batch.batch_id,
        job_name=PROCESS_JOB,
        tags={
            SOURCE_DIR_TAG: str(batch.path.resolve()),
            FINGERPRINT_TAG: batch.fingerprint,
            TRIGGER_TAG: trigger,
        },
    )


def build_landing_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(
        name="landing_sensor",
        job_name=PROCESS_JOB,
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=default_status(settings, dg.DefaultSensorStatus),
        description=f"New complete batch folders under {settings.landing_dir} -> one process_batch run each.",
    )
    def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        # Cursor: batch id -> fingerprint already requested. Known folders are not re-verified each tick.
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        try:
            processed = ledger.processed_fingerprints(settings.db_path, read_only=True)
        except WarehouseBusy as exc:
            return dg.SensorResult(skip_reason=f"{exc} (looking again next tick)")
        scan = scan_landing(
            settings.landing_dir, known=seen, allow_external_symlinks=settings.allow_external_symlinks
        )
        for pending in scan.problems:
            context.log.warning(f"batch folder {pending.batch_id} not complete: {pending.reason}")
        new = [
            b
            for b in scan.complete
            if seen.get(b.batch_id) != b.fingerprint and b.fingerprint not in processed.get(b.batch_id, set())
        ]
        if not new:
            if not settings.landing_dir.is_dir():
                return dg.SensorResult(skip_reason=f"landing folder {settings.landing_dir} does not exist")
            waiting = len(scan.pending)
            return dg.SensorResult(skip_reason=f"no new complete batch ({waiting} folder(s) not complete)")
        registered = set(context.instance.get_dynamic_partitions(batch_partitions.name))
        to_add = [b.batch_id for b in new if b.batch_id not in registered]
        seen.update({b.batch_id: b.fingerprint for b in new})
        return dg.SensorResult(
            run_requests=[batch_run_request(b, "sensor") for b in new],
            dynamic_partitions_requests=[batch_partitions.build_add_request(to_add)] if to_add else [],
            cursor=json.dumps(seen, sort_keys=True),
        )

    return landing_sensor


def build_run_reporting_sensors(settings: Settings) -> list[dg.SensorDefinition]:
    """The after-run routine for runs launched by Dagster (the CLI runs its own)."""

    def report(context: dg.RunStatusSensorContext) -> dg.SkipReason | None:
        run = context.dagster_run
        if run.job_name != PROCESS_JOB:
            return dg.SkipReason(f"not a {PROCESS_JOB} run")
        batch = BatchContext.from_tags(run.tags)
        if batch.trigger == CLI_TRIGGER:
            return dg.SkipReason("run started by the CLI, which reports it")
        outcome = outcome_from_run(context.instance, run, settings.db_path)
        outcome.log_file = str(write_run_log(context.instance, run.run_id, settings.runs_dir, outcome.batch_id))
        done = finish_batch_run(
            outcome,
            settings,
            source_dir=batch.source_dir_tag,
            fingerprint=batch.fingerprint,
            origin=f"dagster:{batch.trigger}",
        )
        context.log.info(f"run summary written: {done.summary_path}")
        for result in done.hook_results:
            context.log.info(f"failure hook: {result}")
        return None

    status = default_status(settings, dg.DefaultSensorStatus)
    on_success = dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS, name="run_summary_on_success", default_status=status
    )(report)
    on_failure = dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.FAILURE, name="run_summary_on_failure", default_status=status
    )(report)
    return [on_success, on_failure]


def default_status(settings: Settings, enum: type) -> object:
    return enum.RUNNING if settings.automation_status.lower() == "running" else enum.STOPPED
