"""Run summaries, the failure hook (a real local command and a real local HTTP server) and structured logs."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from pipelines.operations.logs import REDACTED, configure_logging
from pipelines.operations.notify import notify_failure
from pipelines.operations.outcome import BatchOutcome
from pipelines.operations.summary import format_outcome_line, write_run_summary
from pipelines.settings import Settings

FAILED = BatchOutcome(
    batch_id="2026-11-03",
    success=False,
    reason="landed_batch: conditions.csv: required column CODE missing",
    rows_loaded={"patients.csv": 3},
    rows_quarantined={"patients.csv": 1},
    checks_failed=["staging_patients:unique_patient_id"],
    asset_timings={"landed_batch": 0.25, "raw_patients": 1.5},
    run_id="0123456789abcdef",
)

# A real command: a Python one-liner that copies its argument and environment into a file.
HOOK_SCRIPT = (
    "import json, os, sys; "
    "json.dump({'argv': sys.argv[1:], 'summary_env': os.environ['CRAMP_COHORT_RUN_SUMMARY'], "
    "'batch': os.environ['CRAMP_COHORT_BATCH_ID'], 'reason': os.environ['CRAMP_COHORT_FAILURE_REASON']}, "
    "open(os.environ['HOOK_OUT'], 'w'))"
)


def test_run_summary_contents(tmp_path: Path) -> None:
    path = write_run_summary(FAILED, tmp_path / "runs", source_dir="/landing/2026-11-03", origin="landing")
    assert path.parent == tmp_path / "runs"
    assert path.name.endswith("_2026-11-03_01234567.json")
    doc = json.loads(path.read_text())
    assert doc["run_id"] == "0123456789abcdef"
    assert doc["batch_id"] == "2026-11-03"
    assert doc["status"] == "failed" and doc["success"] is False
    assert doc["reason"] == FAILED.reason
    assert doc["asset_timings_seconds"] == {"landed_batch": 0.25, "raw_patients": 1.5}
    assert doc["total_seconds"] == 1.75
    assert doc["rows_loaded"] == {"patients.csv": 3} and doc["rows_quarantined"] == {"patients.csv": 1}
    assert doc["checks_failed"] == ["staging_patients:unique_patient_id"]
    assert doc["published"] is False and doc["cohort_size"] is None
    assert doc["source_dir"] == "/landing/2026-11-03" and doc["origin"] == "landing"
    assert not list((tmp_path / "runs").glob(".summary-*"))  # no temp file left behind


def test_outcome_line_has_counts_not_values() -> None:
    ok = BatchOutcome(
        "2026-11-01", True, rows_loaded={"a": 5, "b": 7}, rows_quarantined={"a": 1}, cohort_size=2, published=True
    )
    assert format_outcome_line(ok) == (
        "2026-11-01 ok rows_loaded=12 rows_quarantined=1 checks_failed=0 warnings=0 cohort_size=2 published=yes"
    )
    line = format_outcome_line(FAILED)
    assert line.startswith("2026-11-03 FAILED rows_loaded=3 rows_quarantined=1 checks_failed=1")
    assert "reason=landed_batch: conditions.csv" in line


def test_outcome_line_keeps_warnings_apart_from_blocking_failures() -> None:
    outcome = BatchOutcome(
        "2026-11-04",
        True,
        checks_failed=["staging_observations:lab_unit_known", "staging_patients:unique_patient_id"],
    )
    outcome.checks = [
        {"check": "staging_observations:lab_unit_known", "passed": False, "severity": "WARN"},
        {"check": "staging_patients:unique_patient_id", "passed": False, "severity": "ERROR"},
        {"check": "staging_patients:birthdate_not_null", "passed": True, "severity": "ERROR"},
    ]
    line = format_outcome_line(outcome)
    assert "checks_failed=1 (staging_patients:unique_patient_id)" in line
    assert "warnings=1 (staging_observations:lab_unit_known)" in line


def test_failure_command_gets_summary_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "hook.json"
    script = tmp_path / "hook.py"
    script.write_text(HOOK_SCRIPT)
    monkeypatch.setenv("HOOK_OUT", str(out))
    settings = Settings(runs_dir=tmp_path / "runs", failure_command=f"{sys.executable} {script}")
    results = notify_failure(FAILED, settings)  # writes the summary itself when given no path
    assert results == ["command ok"]
    seen = json.loads(out.read_text())
    summary = Path(seen["argv"][-1])
    assert seen["summary_env"] == str(summary)
    assert summary.parent == tmp_path / "runs"
    assert json.loads(summary.read_text())["batch_id"] == "2026-11-03"
    assert seen["batch"] == "2026-11-03" and seen["reason"] == FAILED.reason


def test_failing_command_is_reported_not_raised(tmp_path: Path) -> None:
    settings = Settings(runs_dir=tmp_path, failure_command=f"{sys.executable} -c 'raise SystemExit(3)'")
    assert notify_failure(FAILED, settings, tmp_path / "s.json") == ["command exit 3"]
    missing = Settings(runs_dir=tmp_path, failure_command="/nonexistent/notify-team")
    assert notify_failure(FAILED, missing, tmp_path / "s.json")[0].startswith("command error")


def test_no_hook_configured_does_nothing(tmp_path: Path) -> None:
    assert notify_failure(FAILED, Settings(runs_dir=tmp_path / "runs")) == []
    assert not (tmp_path / "runs").exists()


def test_failure_webhook_posts_summary_json(tmp_path: Path) -> None:
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"type": self.headers["Content-Type"], "doc": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        settings = Settings(runs_dir=tmp_path / "runs", failure_webhook=url, failure_timeout_seconds=10)
        assert notify_failure(FAILED, settings) == ["webhook 204"]
    finally:
        thread.join(timeout=10)
        server.server_close()
    (post,) = received
    assert post["type"] == "application/json"
    assert post["doc"]["batch_id"] == "2026-11-03" and post["doc"]["status"] == "failed"
    assert Path(post["doc"]["summary_path"]).exists()


def test_unreachable_webhook_is_reported(tmp_path: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_port
    server.server_close()  # nothing listens there any more
    settings = Settings(runs_dir=tmp_path, failure_webhook=f"http://127.0.0.1:{port}/", failure_timeout_seconds=2)
    assert notify_failure(FAILED, settings, tmp_path / "missing.json")[0].startswith("webhook error")


@pytest.fixture
def restore_root_logger():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_logs_redact_patient_fields_above_debug(restore_root_logger: None) -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    log = logging.getLogger("cramp_cohort.test")
    log.info("row rejected", extra={"batch_id": "b1", "patient_id": "p-123", "raw_record": "Ann,Smith", "rows": 3})
    log.debug("debugging", extra={"patient_id": "p-456"})
    info, debug = (json.loads(line) for line in stream.getvalue().splitlines())
    assert info["msg"] == "row rejected" and info["level"] == "INFO" and info["logger"] == "cramp_cohort.test"
    assert info["batch_id"] == "b1" and info["rows"] == 3
    assert info["patient_id"] == REDACTED and info["raw_record"] == REDACTED
    assert "p-123" not in stream.getvalue() and "Ann" not in stream.getvalue()
    assert debug["patient_id"] == "p-456"  # DEBUG is for a developer at a terminal, on purpose


def test_keyvalue_logs_and_idempotent_setup(restore_root_logger: None) -> None:
    stream = io.StringIO()
    configure_logging("INFO", fmt="keyvalue", stream=io.StringIO())
    configure_logging("INFO", fmt="keyvalue", stream=stream)  # replaces, does not stack handlers
    logging.getLogger("cramp_cohort.test").info("batch finished", extra={"batch_id": "b1", "success": True})
    logging.getLogger("cramp_cohort.test").debug("hidden")
    (line,) = stream.getvalue().splitlines()
    assert 'msg="batch finished"' in line and "batch_id=b1" in line and "success=true" in line
    assert "level=INFO" in line
