"""Run summaries: one machine-readable JSON file per batch run under `settings.runs_dir`.

The writer accepts anything shaped like the runner's `BatchOutcome` (duck typing, see `RunOutcome`), so the
CLI path (runner outcome) and the Dagster path (outcome rebuilt from the run's event log) write one format.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

SUMMARY_SCHEMA_VERSION = 1


class RunOutcome(Protocol):
    batch_id: str
    success: bool
    reason: str | None
    rows_loaded: dict[str, int]
    rows_quarantined: dict[str, int]
    checks_failed: list[str]
    cohort_size: int | None
    asset_timings: dict[str, float]
    run_id: str | None
    published: bool


def summary_document(outcome: RunOutcome, **context: Any) -> dict[str, Any]:
    """The JSON content: outcome fields plus `context` (source_dir, fingerprint, origin, ...)."""
    timings = dict(getattr(outcome, "asset_timings", None) or {})
    doc: dict[str, Any] = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "run_id": getattr(outcome, "run_id", None),
        "batch_id": outcome.batch_id,
        "status": "success" if outcome.success else "failed",
        "success": bool(outcome.success),
        "reason": getattr(outcome, "reason", None),
        "reason_code": getattr(outcome, "reason_code", None),  # e.g. blocking_check_failed, warehouse_busy
        "failed_step": getattr(outcome, "failed_step", None),
        "unknown_files": list(getattr(outcome, "unknown_files", None) or []),
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "total_seconds": round(sum(timings.values()), 3),
        "asset_timings_seconds": {k: round(float(v), 3) for k, v in sorted(timings.items())},
        "rows_read": dict(getattr(outcome, "rows_read", None) or {}),  # when the producer counts them
        "rows_loaded": dict(getattr(outcome, "rows_loaded", None) or {}),
        "rows_quarantined": dict(getattr(outcome, "rows_quarantined", None) or {}),
        "checks_failed": list(getattr(outcome, "checks_failed", None) or []),
        "checks": getattr(outcome, "checks", None),  # full check outcomes when the producer has them
        "cohort_size": getattr(outcome, "cohort_size", None),
        "published": bool(getattr(outcome, "published", False)),
    }
    doc.update(context)
    return doc


def write_run_summary(outcome: RunOutcome, runs_dir: Path, **context: Any) -> Path:
    """Write `<runs_dir>/<UTC time>_<batch>_<run id>.json` atomically and return its path.

    The name sorts chronologically; the file appears complete or not at all (temp file + rename), so a
    monitoring job polling the folder never reads half a summary.
    """
    doc = summary_document(outcome, **context)
    runs_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_part = str(doc["run_id"] or "norun")[:8]
    safe_batch = re.sub(r"[^A-Za-z0-9._-]", "_", str(outcome.batch_id))[:128]
    path = runs_dir / f"{stamp}_{safe_batch}_{run_part}.json"
    fd, tmp = tempfile.mkstemp(dir=runs_dir, prefix=".summary-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2, sort_keys=True, default=str)
        fh.write("\n")
    os.replace(tmp, path)
    return path


def format_outcome_line(outcome: RunOutcome) -> str:
    """One line per batch for the CLI and cron mail: counts only, never data values."""
    loaded = sum((getattr(outcome, "rows_loaded", None) or {}).values())
    quarantined = sum((getattr(outcome, "rows_quarantined", None) or {}).values())
    failed = list(getattr(outcome, "checks_failed", None) or [])
    # Warn-level failures are reported apart: they never block a batch, so they must not read as a failure.
    checks = getattr(outcome, "checks", None) or []
    warned = [c["check"] for c in checks if not c["passed"] and str(c.get("severity")).upper() == "WARN"]
    failed = [name for name in failed if name not in warned]
    cohort = getattr(outcome, "cohort_size", None)
    parts = [
        outcome.batch_id,
        "ok" if outcome.success else "FAILED",
        f"rows_loaded={loaded}",
        f"rows_quarantined={quarantined}",
        f"checks_failed={len(failed)}" + (f" ({', '.join(failed)})" if failed else ""),
        f"warnings={len(warned)}" + (f" ({', '.join(warned)})" if warned else ""),
        f"cohort_size={'-' if cohort is None else cohort}",
        f"published={'yes' if getattr(outcome, 'published', False) else 'no'}",
    ]
    unknown = list(getattr(outcome, "unknown_files", None) or [])
    if unknown:
        parts.append(f"unknown_files={','.join(unknown)}")
    if not outcome.success and getattr(outcome, "reason", None):
        parts.append(f"reason={reason_text(outcome)}")
    return " ".join(parts)


def reason_text(outcome: RunOutcome) -> str:
    """`<reason code>: <reason>`, on one line (the batch line, the ledger and the hook's environment)."""
    reason = " ".join(str(getattr(outcome, "reason", None) or "").split())
    code = getattr(outcome, "reason_code", None)
    return f"{code}: {reason}" if code and not reason.startswith(f"{code}:") else reason
