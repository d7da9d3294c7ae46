"""The command as a person at a terminal meets it: a failure is one reason and where the full log is (not a Dagster
traceback), every missing column is named, `--version`, help with examples, exit codes and environment, "nothing to
do" said out loud, and a warehouse named with --db keeps its snapshot, reports and run summaries beside it."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.contract.synthea import LAYOUTS
from pipelines.operations.logs import configure_logging, resolve_format

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data_samples" / "synthea_sample"


def _cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CRAMP_COHORT_") and k != "DAGSTER_HOME"}
    clean.update(CRAMP_COHORT_KEY_FILE=str(cwd / "hmac.key"), PYTHONPATH=str(ROOT), **env)
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=600
    )


def test_version(tmp_path):
    done = _cli("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("cramp-cohort 0.")


@pytest.mark.parametrize("command", ["run", "report", "reprocess"])
def test_help_has_examples_exit_codes_and_environment(tmp_path, command):
    text = _cli(command, "--help", cwd=tmp_path).stdout
    assert f"cramp-cohort {command}" in text.split("examples:")[1]
    assert "exit codes:" in text and "  2  " in text
    assert "CRAMP_COHORT_DB" in text and "CRAMP_COHORT_PUBLISHED_DIR" in text


def test_a_failed_batch_prints_its_reason_and_where_the_log_is(tmp_path):
    batch = tmp_path / "landing" / "2026-01-01"
    batch.mkdir(parents=True)
    done = _cli("run", "--input", str(batch), "--db", str(tmp_path / "w.duckdb"), cwd=tmp_path)
    assert done.returncode == 1
    assert "reason=input_missing: patients.csv: required file missing" in done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) <= 5, done.stderr
    assert "Traceback" not in done.stderr and "Stack Trace" not in done.stderr and "dagster" not in done.stderr
    log = Path(json.loads(lines[-1])["log"])
    assert log.parent == tmp_path / "runs"  # beside the warehouse named with --db
    assert "required file missing" in log.read_text() and "Stack Trace" in log.read_text()


def test_missing_columns_are_all_named_with_the_expected_header(tmp_path):
    batch = tmp_path / "2026-01-01"
    batch.mkdir()
    for name in ("patients", "encounters", "conditions", "observations", "medications", "procedures"):
        source = next((SAMPLE / "2026-05-31").glob(f"{name}.csv*"))
        (batch / source.name).write_bytes(source.read_bytes())
    lines = (batch / "patients.csv").read_bytes().decode("utf-8", "replace").splitlines()[:4]
    drop = {"BIRTHDATE", "GENDER"}
    keep = [i for i, c in enumerate(lines[0].split(",")) if c.upper() not in drop]
    (batch / "patients.csv").write_text("".join(",".join(line.split(",")[i] for i in keep) + "\n" for line in lines))
    done = _cli("run", "--input", str(batch), "--db", str(tmp_path / "w.duckdb"), cwd=tmp_path)
    assert done.returncode == 1
    reason = done.stdout.split("reason=", 1)[1]
    assert "BIRTHDATE" in reason and "GENDER" in reason
    assert f"expected header: {','.join(LAYOUTS['patients'].columns)}" in reason


def test_reprocess_says_when_there_is_nothing_to_do(tmp_path):
    done = _cli("reprocess", "--db", str(tmp_path / "w.duckdb"), cwd=tmp_path, CRAMP_COHORT_LANDING=str(tmp_path))
    assert done.returncode == 0 and done.stdout.startswith("nothing to reprocess")


def test_run_with_db_elsewhere_leaves_the_default_snapshot_untouched(tmp_path):
    # what the default warehouse of this folder has published and reported
    default = tmp_path / "warehouse"
    for path, text in (("published/marts.duckdb", "the default snapshot"), ("reports/dashboard.html", "default")):
        (default / path).parent.mkdir(parents=True, exist_ok=True)
        (default / path).write_text(text)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in default.rglob("*") if p.is_file()}

    other = tmp_path / "site_b" / "w.duckdb"
    done = _cli("run", "--landing", str(SAMPLE), "--db", str(other), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in default.rglob("*") if p.is_file()} == before
    # a run is not silent between "batch started" and "batch finished": one line per finished step, with its time
    steps = [json.loads(line) for line in done.stderr.splitlines() if '"step_end"' in line]
    assert {s["step"] for s in steps} >= {"landed_batch", "staging_patients", "marts", "dashboard"}
    assert all(s["msg"].startswith(f"step {s['step']} done") and s["seconds"] is not None for s in steps)
    beside = other.parent
    assert (beside / "published" / "marts.duckdb").exists() and (beside / "reports" / "dashboard.html").exists()
    assert list((beside / "runs").glob("*.json"))

    # a published snapshot is not a warehouse: report refuses it and overwrites nothing
    out = tmp_path / "out"
    out.mkdir()
    (out / "data_quality.html").write_text("the real report")
    refused = _cli("report", "--db", str(beside / "published" / "marts.duckdb"), "--out", str(out), cwd=tmp_path)
    assert refused.returncode == 2 and "published snapshot" in refused.stderr
    assert (out / "data_quality.html").read_text() == "the real report"
    # nor does an empty DuckDB file replace real reports with empty ones
    import duckdb

    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    empty = _cli("report", "--db", str(tmp_path / "empty.duckdb"), "--out", str(out), cwd=tmp_path)
    assert empty.returncode == 2 and "nothing to report" in empty.stderr
    assert (out / "data_quality.html").read_text() == "the real report"
    # and the warehouse itself reports into the folder asked for
    good = _cli("report", "--db", str(other), "--out", str(out), cwd=tmp_path)
    assert good.returncode == 0 and "Data quality" in (out / "data_quality.html").read_text()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_logs_are_readable_on_a_terminal_and_json_otherwise():
    import logging

    assert resolve_format("auto", _Terminal()) == "text" and resolve_format("auto", io.StringIO()) == "json"
    terminal = _Terminal()
    configure_logging("INFO", "auto", stream=terminal)
    logging.getLogger("pipelines.test").info("batch started", extra={"batch_id": "2026-01-01", "event": "x"})
    line = terminal.getvalue().strip()
    assert "INFO" in line and "batch started" in line and "batch_id=2026-01-01" in line and not line.startswith("{")
    piped = io.StringIO()
    configure_logging("INFO", "auto", stream=piped)
    logging.getLogger("pipelines.test").info("batch started", extra={"batch_id": "2026-01-01"})
    assert json.loads(piped.getvalue())["batch_id"] == "2026-01-01"
    configure_logging("INFO", "json")
