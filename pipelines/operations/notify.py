"""Failure hook: tell someone when a batch fails (a local command and/or a JSON webhook).

A broken hook must never hide the batch failure itself, so errors here are logged and returned, not raised.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from pipelines.operations.outcome import BatchOutcome
from pipelines.operations.summary import summary_document, write_run_summary
from pipelines.settings import Settings

log = logging.getLogger(__name__)


def notify_failure(outcome: BatchOutcome, settings: Settings, summary_path: Path | None = None) -> list[str]:
    """Run `settings.failure_command` and/or POST to `settings.failure_webhook`; return what happened.

    The command gets the run summary path as its last argument and in `CRAMP_COHORT_RUN_SUMMARY`
    (plus `CRAMP_COHORT_BATCH_ID`, `CRAMP_COHORT_RUN_ID`, `CRAMP_COHORT_FAILURE_REASON`). The webhook receives
    the run summary document as JSON. Without a summary path, the summary is written first.
    """
    if not settings.failure_command and not settings.failure_webhook:
        return []
    if summary_path is None:
        summary_path = write_run_summary(outcome, settings.runs_dir)
    results = []
    if settings.failure_command:
        results.append(_run_command(outcome, settings, summary_path))
    if settings.failure_webhook:
        results.append(_post_webhook(outcome, settings, summary_path))
    return results


def _run_command(outcome: BatchOutcome, settings: Settings, summary_path: Path) -> str:
    argv = [*shlex.split(settings.failure_command), str(summary_path)]
    env = {
        **os.environ,
        "CRAMP_COHORT_RUN_SUMMARY": str(summary_path),
        "CRAMP_COHORT_BATCH_ID": outcome.batch_id,
        "CRAMP_COHORT_RUN_ID": outcome.run_id or "",
        "CRAMP_COHORT_FAILURE_REASON": outcome.reason_line,
        "CRAMP_COHORT_FAILURE_CODE": outcome.reason_code or "",
    }
    try:
        done = subprocess.run(
            argv,
            env=env,
            capture_output=True,
            text=True,
            timeout=settings.failure_timeout_seconds,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.error("failure_command could not run", extra={"event": "failure_hook", "error": str(exc)})
        return f"command error: {exc}"
    if done.returncode != 0:
        log.error(
            "failure_command exited non-zero",
            extra={"event": "failure_hook", "returncode": done.returncode, "stderr": done.stderr[-500:]},
        )
        return f"command exit {done.returncode}"
    log.info("failure_command ran", extra={"event": "failure_hook", "batch_id": outcome.batch_id})
    return "command ok"


def _post_webhook(outcome: BatchOutcome, settings: Settings, summary_path: Path) -> str:
    try:
        doc = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        doc = summary_document(outcome)
    doc["summary_path"] = str(summary_path)
    request = urllib.request.Request(
        settings.failure_webhook,
        data=json.dumps(doc, default=str).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "cramp-cohort"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.failure_timeout_seconds) as response:
            status = response.status
    except (urllib.error.URLError, OSError) as exc:
        log.error("failure_webhook failed", extra={"event": "failure_hook", "error": str(exc)})
        return f"webhook error: {exc}"
    log.info("failure_webhook posted", extra={"event": "failure_hook", "http_status": status})
    return f"webhook {status}"
