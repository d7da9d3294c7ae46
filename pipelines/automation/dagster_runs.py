"""Rebuilding a batch outcome from a finished Dagster run, for runs the sensor or schedule launched.

The CLI gets its outcome from the runner; runs launched by the daemon only leave an event log, so the run
reporting sensors read it here (step timings, asset check evaluations, failure message) and take row counts
from the warehouse (`dq.batch_reconciliation`, like the runner), else from materialization metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb

PUBLISHED_ASSET = dg.AssetKey("published_snapshot")
LANDED_ASSET = dg.AssetKey("landed_batch")


@dataclass
class DagsterRunOutcome:
    batch_id: str
    success: bool
    run_id: str
    reason: str | None = None
    rows_read: dict[str, int] = field(default_factory=dict)
    rows_loaded: dict[str, int] = field(default_factory=dict)
    rows_quarantined: dict[str, int] = field(default_factory=dict)
    checks_failed: list[str] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    cohort_size: int | None = None
    asset_timings: dict[str, float] = field(default_factory=dict)
    published: bool = False
    seconds: float | None = None  # wall time, when the run was executed in this process
    reason_code: str | None = None  # machine-readable cause of a failure (see docs/operations.md)
    failed_step: str | None = None  # the Dagster step where it failed (context; the reason says what)
    unknown_files: list[str] = field(default_factory=list)  # files of the batch folder nobody reads


def outcome_from_run(instance: dg.DagsterInstance, run: dg.DagsterRun, db_path: Path) -> DagsterRunOutcome:
    """Summarize a finished run of the batch job from its event log (and the warehouse when readable)."""
    outcome = DagsterRunOutcome(
        batch_id=run.tags.get("dagster/partition", "unpartitioned"),
        success=run.status == dg.DagsterRunStatus.SUCCESS,
        run_id=run.run_id,
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
    if not read_warehouse_counts(outcome, db_path):
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


def read_warehouse_counts(outcome: DagsterRunOutcome, db_path: Path) -> bool:
    """Counts as the runner reports them; False when the file is missing or locked by a running job."""
    if not db_path.exists():
        return False
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error:
        return False
    try:
        tables = {
            f"{s}.{t}"
            for s, t in con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        }
        if "dq.batch_reconciliation" not in tables:
            return False
        for source_file, read, loaded, quarantined in con.execute(
            "select source_file, rows_read, rows_loaded, rows_quarantined from dq.batch_reconciliation "
            "where batch_id = ? order by source_file",
            [outcome.batch_id],
        ).fetchall():
            outcome.rows_read[source_file] = read
            outcome.rows_loaded[source_file] = loaded
            outcome.rows_quarantined[source_file] = quarantined
        if "cohort.patient_flags" in tables:
            outcome.cohort_size = con.execute("select count(*) from cohort.patient_flags").fetchone()[0]
        return True
    except duckdb.Error:
        return False
    finally:
        con.close()
