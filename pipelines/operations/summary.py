"""Run summaries: one machine-readable JSON file per batch run under `settings.runs_dir`, and the batch line.

Both paths write them from the same `BatchOutcome`: the CLI loop (outcome of the in-process run) and the Dagster
run-status sensors (outcome rebuilt from the run's event log).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.operations.outcome import BatchOutcome
from pipelines.warehouse import atomic_write_text

SUMMARY_SCHEMA_VERSION = 1


def summary_document(outcome: BatchOutcome, **context: Any) -> dict[str, Any]:
    """The JSON content: outcome fields plus `context` (source_dir, fingerprint, origin, ...)."""
    timings = dict(outcome.asset_timings)
    doc: dict[str, Any] = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "run_id": outcome.run_id,
        "batch_id": outcome.batch_id,
        "status": "success" if outcome.success else "failed",
        "success": bool(outcome.success),
        "reason": outcome.reason,
        "reason_code": outcome.reason_code,
        "failed_step": outcome.failed_step,
        "unknown_files": list(outcome.unknown_files),
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "total_seconds": round(sum(timings.values()), 3),
        "asset_timings_seconds": {k: round(float(v), 3) for k, v in sorted(timings.items())},
        "rows_read": dict(outcome.rows_read),
        "rows_loaded": dict(outcome.rows_loaded),
        "rows_quarantined": dict(outcome.rows_quarantined),
        "checks_failed": list(outcome.checks_failed),
        "checks": outcome.checks,
        "cohort_size": outcome.cohort_size,
        "published": bool(outcome.published),
        # incremental (only the patients the batch can change were rebuilt) or full, and why
        "processing_path": outcome.processing_path,
        "processing_reason": outcome.processing_reason,
        "patients_in_scope": outcome.patients_in_scope,
        "log_file": outcome.log_file,  # the run's whole Dagster event log (text), when it was written
    }
    doc.update(context)
    return doc


def write_run_summary(outcome: BatchOutcome, runs_dir: Path, **context: Any) -> Path:
    """Writes `<runs_dir>/<UTC time>_<batch>_<run id>.json` atomically and returns its path (the name sorts
    chronologically; a monitoring job polling the folder never reads half a summary)."""
    doc = summary_document(outcome, **context)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_part = str(doc["run_id"] or "norun")[:8]
    safe_batch = re.sub(r"[^A-Za-z0-9._-]", "_", str(outcome.batch_id))[:128]
    path = Path(runs_dir) / f"{stamp}_{safe_batch}_{run_part}.json"
    return atomic_write_text(path, json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")


def format_outcome_line(outcome: BatchOutcome) -> str:
    """One line per batch for the CLI and cron mail: counts only, never data values."""
    failed, warned = outcome.blocking_failures, outcome.warnings
    parts = [
        outcome.batch_id,
        "ok" if outcome.success else "FAILED",
        f"rows_loaded={sum(outcome.rows_loaded.values())}",
        f"rows_quarantined={sum(outcome.rows_quarantined.values())}",
        f"checks_failed={len(failed)}" + (f" ({', '.join(failed)})" if failed else ""),
        f"warnings={len(warned)}" + (f" ({', '.join(warned)})" if warned else ""),
        f"cohort_size={'-' if outcome.cohort_size is None else outcome.cohort_size}",
        f"published={'yes' if outcome.published else 'no'}",
    ]
    if outcome.processing_path:
        parts.append(f"path={outcome.processing_path}")
    if outcome.unknown_files:
        parts.append(f"unknown_files={','.join(outcome.unknown_files)}")
    if not outcome.success and outcome.reason:
        parts.append(f"reason={outcome.reason_line}")
    return " ".join(parts)
