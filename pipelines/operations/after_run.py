"""What happens after every batch run, whichever path ran it (the CLI loop or the Dagster run-status sensors):
the run summary, the ledger row, the failure hook on a failure, one log line."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.operations import ledger
from pipelines.operations.notify import notify_failure
from pipelines.operations.outcome import BatchOutcome
from pipelines.operations.summary import write_run_summary
from pipelines.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AfterRun:
    summary_path: Path
    hook_results: list[str] = field(default_factory=list)  # what the failure hook did (empty on success)


def finish_batch_run(
    outcome: BatchOutcome,
    settings: Settings,
    *,
    source_dir: Path | str | None,
    fingerprint: str | None,
    origin: str,
    record: bool = True,
) -> AfterRun:
    """Summary, ledger row (unless `record` is False: no batch was named), failure hook, log line."""
    summary = write_run_summary(
        outcome, settings.runs_dir, source_dir=str(source_dir or ""), fingerprint=fingerprint, origin=origin
    )
    if record:
        ledger.record_run(
            settings.db_path,
            outcome,
            fingerprint=fingerprint,
            source_dir=source_dir,
            summary_path=summary,
            origin=origin,
        )
    hooks = [] if outcome.success else notify_failure(outcome, settings, summary)
    fields = {"batch_id": outcome.batch_id, "success": outcome.success, "summary": str(summary), "origin": origin}
    if outcome.log_file:
        fields["log"] = outcome.log_file
    if outcome.reason_code == "warehouse_busy":
        log.error("warehouse busy", extra={"event": "warehouse_busy", **fields})
    else:
        log.info("batch finished", extra={"event": "batch_end", **fields})
    return AfterRun(summary, hooks)
