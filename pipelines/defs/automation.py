"""Unattended operation in Dagster: the landing sensor, the daily safety-net schedule, run reporting.

- `landing_sensor` registers each new complete batch folder as a `batches` partition and requests one
  `process_batch` run for it (run key = batch id + delivery fingerprint: a re-delivered folder runs again).
- `daily_refresh` (cron and time zone from settings) catches batches the sensor did not run (sensor stopped,
  daemon down) and otherwise re-runs the newest batch, which rebuilds the whole graph (value-set changes).
- `run_summary_on_success` / `run_summary_on_failure` write the run summary JSON and call the failure hook.
"""

from __future__ import annotations

import json

import dagster as dg

from pipelines.automation.dagster_runs import outcome_from_run
from pipelines.automation.landing import LandedBatch, scan_landing
from pipelines.automation.ledger import unaccepted_batches
from pipelines.automation.notify import notify_failure
from pipelines.automation.summary import write_run_summary
from pipelines.partitions import SOURCE_DIR_TAG, batch_partitions
from pipelines.settings import Settings

PROCESS_JOB = "process_batch"
FINGERPRINT_TAG = "cramp_cohort/batch_fingerprint"
TRIGGER_TAG = "cramp_cohort/trigger"


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
    status = _status(settings, dg.DefaultSensorStatus)

    @dg.sensor(
        name="landing_sensor",
        job_name=PROCESS_JOB,
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=status,
        description=f"New complete batch folders under {settings.landing_dir} -> one process_batch run each.",
    )
    def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        # Cursor: batch id -> fingerprint already requested. Known folders are not re-verified each tick.
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        scan = scan_landing(
            settings.landing_dir, known=seen, allow_external_symlinks=settings.allow_external_symlinks
        )
        for pending in scan.problems:
            context.log.warning(f"batch folder {pending.batch_id} not complete: {pending.reason}")
        new = [b for b in scan.complete if seen.get(b.batch_id) != b.fingerprint]
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


def build_daily_schedule(settings: Settings) -> dg.ScheduleDefinition:
    @dg.schedule(
        cron_schedule=settings.schedule_cron,
        execution_timezone=settings.schedule_timezone,
        job_name=PROCESS_JOB,
        name="daily_refresh",
        default_status=_status(settings, dg.DefaultScheduleStatus),
        description="Safety net: run complete batches no run has covered yet, else refresh the newest batch.",
    )
    def daily_refresh(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
        instance = context.instance
        complete = scan_landing(settings.landing_dir, allow_external_symlinks=settings.allow_external_symlinks).complete
        # A delivery is covered once any run carries its fingerprint (sensor, schedule or a manual launch), unless
        # the warehouse holds its batch as not accepted (the run failed or was killed): then it runs again.
        unaccepted = unaccepted_batches(settings.db_path)
        pending = [b for b in complete if b.batch_id in unaccepted or not _has_run(instance, b)]
        if pending:
            registered = set(instance.get_dynamic_partitions(batch_partitions.name))
            # Schedules cannot return partition requests, so the instance is updated directly.
            missing = [b.batch_id for b in pending if b.batch_id not in registered]
            if missing:
                instance.add_dynamic_partitions(batch_partitions.name, missing)
            day = context.scheduled_execution_time.strftime("%Y-%m-%d")
            return [
                batch_run_request(
                    b, "schedule", run_key=f"retry:{day}:{b.run_key}" if b.batch_id in unaccepted else None
                )
                for b in pending
            ]
        if not complete:
            return dg.SkipReason(f"no complete batch under {settings.landing_dir}")
        newest = complete[-1]
        day = context.scheduled_execution_time.strftime("%Y-%m-%d")
        if not instance.has_dynamic_partition(batch_partitions.name, newest.batch_id):
            instance.add_dynamic_partitions(batch_partitions.name, [newest.batch_id])
        return [batch_run_request(newest, "schedule_refresh", run_key=f"refresh:{day}:{newest.batch_id}")]

    return daily_refresh


def build_run_reporting_sensors(settings: Settings) -> list[dg.SensorDefinition]:
    """Run summary + failure hook for runs launched by Dagster (the CLI writes its own)."""

    def report(context: dg.RunStatusSensorContext) -> dg.SkipReason | None:
        run = context.dagster_run
        if run.job_name != PROCESS_JOB:
            return dg.SkipReason(f"not a {PROCESS_JOB} run")
        outcome = outcome_from_run(context.instance, run, settings.db_path)
        path = write_run_summary(
            outcome,
            settings.runs_dir,
            source_dir=run.tags.get(SOURCE_DIR_TAG),
            fingerprint=run.tags.get(FINGERPRINT_TAG),
            origin=f"dagster:{run.tags.get(TRIGGER_TAG, 'manual')}",
        )
        context.log.info(f"run summary written: {path}")
        if not outcome.success:
            for result in notify_failure(outcome, settings, path):
                context.log.info(f"failure hook: {result}")
        return None

    status = _status(settings, dg.DefaultSensorStatus)
    on_success = dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS, name="run_summary_on_success", default_status=status
    )(report)
    on_failure = dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.FAILURE, name="run_summary_on_failure", default_status=status
    )(report)
    return [on_success, on_failure]


def build_automation_defs(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        schedules=[build_daily_schedule(settings)],
        sensors=[build_landing_sensor(settings), *build_run_reporting_sensors(settings)],
    )


def _has_run(instance: dg.DagsterInstance, batch: LandedBatch) -> bool:
    runs = instance.get_run_records(
        filters=dg.RunsFilter(tags={FINGERPRINT_TAG: batch.fingerprint}, job_name=PROCESS_JOB), limit=1
    )
    return bool(runs)


def _status(settings: Settings, enum: type) -> object:
    return enum.RUNNING if settings.automation_status.lower() == "running" else enum.STOPPED

