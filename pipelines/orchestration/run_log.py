"""The event-log reader: a finished `process_batch` run as a `BatchOutcome`, for every path that reports one.

The CLI's in-process runner and the run-reporting sensors of the daemon read the run the same way: step timings,
asset check evaluations and the failure's real cause from the event log, row counts from the warehouse
(`dq.batch_reconciliation`), else from materialization metadata when the warehouse cannot be read.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from pipelines.operations.outcome import BatchOutcome, add_warehouse_counts
from pipelines.orchestration.batch_context import BatchContext

PUBLISHED_ASSET = dg.AssetKey("published_snapshot")
LANDED_ASSET = dg.AssetKey("landed_batch")


def outcome_from_run(instance: dg.DagsterInstance, run: dg.DagsterRun, db_path: Path) -> BatchOutcome:
    """Summarize a finished run of the batch job from its event log (and the warehouse when readable)."""
    outcome = BatchOutcome(
        batch_id=BatchContext.from_tags(run.tags).batch_id or "unpartitioned",
        success=run.status == dg.DagsterRunStatus.SUCCESS,
        run_id=run.run_id,
        checks=[],
    )
    starts: dict[str, float] = {}
    meta_loaded: dict[str, int] = {}
    meta_quarantined: dict[str, int] = {}
    failed_checks: list[str] = []
    for entry in instance.all_logs(run.run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START and entry.step_key:
            starts[entry.step_key] = entry.timestamp
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            if entry.step_key in starts:
                outcome.asset_timings[entry.step_key] = round(entry.timestamp - starts[entry.step_key], 3)
            if event.is_step_failure and outcome.reason is None:
                outcome.reason_code, outcome.reason = failure_cause(event.step_failure_data, failed_checks)
                outcome.failed_step = entry.step_key
        elif event.event_type == dg.DagsterEventType.RESOURCE_INIT_FAILURE and outcome.reason is None:
            outcome.reason_code, outcome.reason = _error_cause(getattr(event.event_specific_data, "error", None))
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            severity = evaluation.severity.value if evaluation.severity else None
            outcome.checks.append({"check": name, "passed": evaluation.passed, "severity": severity})
            if not evaluation.passed:
                outcome.checks_failed.append(name)
                if severity != "WARN":
                    failed_checks.append(name + _check_counts(evaluation))
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization
            outcome.published |= materialization.asset_key == PUBLISHED_ASSET
            _collect_counts(materialization, meta_loaded, meta_quarantined)
            if materialization.asset_key == LANDED_ASSET:
                unknown = getattr(materialization.metadata.get("unknown_files"), "value", "") or ""
                outcome.unknown_files = [name for name in str(unknown).split(", ") if name]
    if not outcome.success and outcome.reason is None:
        outcome.reason_code, outcome.reason = "run_failed", f"run {run.status.value.lower()}"
    if not add_warehouse_counts(outcome, db_path):
        outcome.rows_loaded, outcome.rows_quarantined = meta_loaded, meta_quarantined
    return outcome


# Exception class -> reason code, for failures that are not one of our own one-line `dg.Failure`s.
_CODES = {
    "WarehouseBusy": "warehouse_busy",
    "PermissionError": "permission_denied",
    "FileNotFoundError": "input_missing",
    "DeidentificationError": "deidentification_failed",
    "DisclosureError": "disclosure_audit_failed",
    "PublishError": "publish_failed",
    "MartInputError": "missing_input_table",
    "KeyFileError": "key_file_error",
    "DagsterAssetCheckFailedError": "blocking_check_failed",
}


def failure_cause(data: object, failed_checks: list[str] | None = None) -> tuple[str, str]:
    """(reason code, one-line reason) of a failed step: the real cause, never just the step's name."""
    user = getattr(data, "user_failure_data", None)
    if user is not None and user.description:
        code = getattr(user.metadata.get("reason_code"), "value", None) if user.metadata else None
        return str(code or "step_failed"), _one_line(user.description)
    code, reason = _error_cause(getattr(data, "error", None))
    if code == "blocking_check_failed" and failed_checks:
        reason = "; ".join(failed_checks)
    return code, reason


def _error_cause(error: object) -> tuple[str, str]:
    """The innermost cause of a Dagster error: `ClassName: message`, and its reason code."""
    if error is None:
        return "step_failed", "failed"
    while getattr(error, "cause", None) is not None and "DagsterExecutionStepExecutionError" in str(error.cls_name):
        error = error.cause
    while getattr(error, "cause", None) is not None and str(error.cls_name) in ("DagsterUserCodeExecutionError",):
        error = error.cause
    name = str(getattr(error, "cls_name", "") or "Error")
    message = _one_line(str(getattr(error, "message", "") or ""))
    prefix, _, rest = message.partition(": ")
    if prefix.split(".")[-1] == name:  # "Class: text" or "package.module.Class: text"
        message = rest
    code = _CODES.get(name, "step_error")
    if code == "step_error" and "could not set lock" in message.lower():
        code = "warehouse_busy"
    text = message if code in ("warehouse_busy", "blocking_check_failed") else f"{name}: {message}"
    return code, text


def _check_counts(evaluation: object) -> str:
    values = {k: getattr(v, "value", v) for k, v in (getattr(evaluation, "metadata", None) or {}).items()}
    failing, total = values.get("failing_rows"), values.get("total_rows")
    if isinstance(failing, int) and isinstance(total, int) and failing >= 0:
        limit = values.get("threshold_pct")
        return f" ({failing} of {total} rows" + (f", limit {limit:g}%)" if isinstance(limit, int | float) else ")")
    return ""


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def _collect_counts(materialization: dg.AssetMaterialization, loaded: dict, quarantined: dict) -> None:
    name = materialization.asset_key.to_user_string()
    values = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
    if name.startswith("raw_") and isinstance(values.get("rows_loaded"), int):
        loaded[name.removeprefix("raw_") + ".csv"] = values["rows_loaded"]
    if name.startswith("staging_") and isinstance(values.get("rows_quarantined"), int):
        quarantined[name.removeprefix("staging_") + ".csv"] = values["rows_quarantined"]


def write_run_log(instance: dg.DagsterInstance, run_id: str, runs_dir: Path, batch_id: str) -> Path:
    """The run's Dagster event log as text (one line per event, errors with their stack traces)."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    path = runs_dir / f"{batch_id}_{run_id[:8]}.log"
    lines = []
    for entry in instance.all_logs(run_id):
        stamp = datetime.fromtimestamp(entry.timestamp, UTC).isoformat(timespec="milliseconds")
        step = entry.step_key or "-"
        lines.append(f"{stamp} {logging.getLevelName(entry.level)} {step} {entry.user_message or entry.message}")
        error = entry.dagster_event.event_specific_data if entry.dagster_event else None
        error_info = getattr(error, "error", None)
        if error_info is not None:
            lines.append(error_info.to_string())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
