"""`daily_refresh`: the safety net. It runs complete batches no run has covered yet (sensor stopped, daemon down,
a run that failed or was killed), else re-runs the newest batch, which rebuilds the whole graph (for example after
a value-set change)."""

import dagster as dg

from pipelines.operations import ledger
from pipelines.operations.landing import LandedBatch, scan_landing
from pipelines.orchestration.jobs import PROCESS_JOB
from pipelines.orchestration.partitions import FINGERPRINT_TAG, batch_partitions
from pipelines.orchestration.sensors import batch_run_request, default_status
from pipelines.settings import Settings
from pipelines.warehouse import WarehouseBusy


def build_daily_schedule(settings: Settings) -> dg.ScheduleDefinition:
    @dg.schedule(
        cron_schedule=settings.schedule_cron,
        execution_timezone=settings.schedule_timezone,
        job_name=PROCESS_JOB,
        name="daily_refresh",
        default_status=default_status(settings, dg.DefaultScheduleStatus),
        description="Safety net: run complete batches no run has covered yet, else refresh the newest batch.",
    )
    def daily_refresh(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
        instance = context.instance
        complete = scan_landing(settings.landing_dir, allow_external_symlinks=settings.allow_external_symlinks).complete
        # A delivery is covered once the ledger holds it as processed (by the CLI or by Dagster) or any run carries
        # its fingerprint, unless the warehouse holds its batch as not accepted (the run failed or was killed).
        unaccepted = ledger.unaccepted_batches(settings.db_path)
        try:
            processed = ledger.processed_fingerprints(settings.db_path, read_only=True)
        except WarehouseBusy:
            processed = {}  # a run holds the warehouse: the runs Dagster knows of still count
        pending = [
            b
            for b in complete
            if b.batch_id in unaccepted
            or not (b.fingerprint in processed.get(b.batch_id, set()) or _has_run(instance, b))
        ]
        if pending:
            day = context.scheduled_execution_time.strftime("%Y-%m-%d")
            registered = set(instance.get_dynamic_partitions(batch_partitions.name))
            # Schedules cannot return partition requests, so the instance is updated directly.
            missing = [b.batch_id for b in pending if b.batch_id not in registered]
            if missing:
                instance.add_dynamic_partitions(batch_partitions.name, missing)
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


def _has_run(instance: dg.DagsterInstance, batch: LandedBatch) -> bool:
    runs = instance.get_run_records(
        filters=dg.RunsFilter(tags={FINGERPRINT_TAG: batch.fingerprint}, job_name=PROCESS_JOB), limit=1
    )
    return bool(runs)
