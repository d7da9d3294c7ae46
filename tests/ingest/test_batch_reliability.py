"""Batches through the real CLI: all or nothing, batch ids, reprocessing by id, the warehouse held by another run,
and the real cause of a failure on the batch line, in the run summary, the ledger and the failure hook.

Small batches made from the bad-input corpus template (tests/ingest/bad_inputs/_base and _template), whole runs of the
asset graph into a DuckDB file under tmp_path.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from run_helpers import ROOT, leftovers

from pipelines.cli import main

CORPUS = Path(__file__).parent / "bad_inputs"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Every setting under tmp_path through the environment, as cron would set it; a failure hook that records
    its arguments and environment."""
    root = logging.getLogger()  # the entry point configures logging: leave the root logger as found
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    for name in list(os.environ):
        if name.startswith("CRAMP_COHORT_") or name == "DAGSTER_HOME":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    hook = tmp_path / "hook.py"
    calls = tmp_path / "hook_calls.jsonl"
    hook.write_text(
        "import json, os, sys\n"
        f"open({str(calls)!r}, 'a').write(json.dumps({{'summary': sys.argv[-1], "
        "'reason': os.environ['CRAMP_COHORT_FAILURE_REASON'], 'code': os.environ['CRAMP_COHORT_FAILURE_CODE'], "
        "'batch': os.environ['CRAMP_COHORT_BATCH_ID']}) + '\\n')\n"
    )
    paths = {
        "DB": tmp_path / "w" / "warehouse.duckdb",
        "LANDING": tmp_path / "landing",
        "RUNS_DIR": tmp_path / "w" / "runs",
        "REPORTS_DIR": tmp_path / "w" / "reports",
        "PUBLISHED_DIR": tmp_path / "w" / "published",
        "KEY_FILE": tmp_path / "secrets" / "hmac.key",
    }
    for name, value in paths.items():
        monkeypatch.setenv(f"CRAMP_COHORT_{name}", str(value))
    monkeypatch.setenv("CRAMP_COHORT_FAILURE_COMMAND", f"{sys.executable} {hook}")
    monkeypatch.setenv("CRAMP_COHORT_LOG_LEVEL", "WARNING")
    monkeypatch.delenv("CRAMP_COHORT_HMAC_KEY", raising=False)
    paths["HOOK_CALLS"] = calls
    return paths


def _batch(folder: Path, source: str = "_template", rename: str | None = None, success: bool = True) -> Path:
    """A small valid batch; `rename` gives its patients other ids than the template's."""
    shutil.copytree(CORPUS / source, folder)
    if rename:
        for path in folder.glob("*.csv"):
            path.write_text(path.read_text().replace("case-p", rename))
    if success:
        (folder / "_SUCCESS").touch()
    return folder


def _query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _hook_calls(paths: dict) -> list[dict]:
    file = paths["HOOK_CALLS"]
    return [json.loads(line) for line in file.read_text().splitlines()] if file.exists() else []


def _batch_lines(out: str) -> dict[str, str]:
    return {line.split()[0]: line for line in out.splitlines() if line[:1].isdigit()}


def test_a_failed_batch_never_reaches_staging_the_cohort_or_a_later_publish(cli, capsys) -> None:
    landing = cli["LANDING"]
    _batch(landing / "2026-01-01", "_base")
    blocked = _batch(landing / "2026-02-01")  # an encounter stops before it starts: a blocking check fails
    encounters = (blocked / "encounters.csv").read_text().replace(
        "e_case-p1,2025-01-10T09:00:00Z,2025-01-10T09:30:00Z", "e_case-p1,2025-01-10T09:00:00Z,2024-01-10T09:30:00Z"
    )
    (blocked / "encounters.csv").write_text(encounters)
    _batch(landing / "2026-03-01", "_template", rename="gone-p")  # every patient without a birth date
    patients = (landing / "2026-03-01" / "patients.csv").read_text().splitlines()
    no_birth = [",".join(f if i != 1 else "" for i, f in enumerate(p.split(","))) for p in patients[1:]]
    (landing / "2026-03-01" / "patients.csv").write_text("\n".join([patients[0], *no_birth]) + "\n")
    _batch(landing / "2026-04-01", "_template", rename="late-p")

    assert main(["run", "--landing", str(landing)]) == 1
    lines = _batch_lines(capsys.readouterr().out)
    db = cli["DB"]
    for table in ("patients", "encounters", "conditions", "observations"):
        assert _query(db, f"select distinct _batch_id from staging.{table} order by 1") == [
            ("2026-01-01",), ("2026-04-01",)
        ], table
    assert [(b, lines[b].split()[1]) for b in sorted(lines)] == [
        ("2026-01-01", "ok"), ("2026-02-01", "FAILED"), ("2026-03-01", "FAILED"), ("2026-04-01", "ok")
    ]
    assert "reason=blocking_check_failed: " in lines["2026-02-01"]
    assert "encounters_stop_not_before_start" in lines["2026-02-01"]
    assert "reason=quarantine_threshold: patients.csv: 5 of 5 rows quarantined (100%); " in lines["2026-03-01"]
    assert "published=no" in lines["2026-03-01"] and "published=yes" in lines["2026-04-01"]

    assert _query(db, "select batch_id, state from raw._batches order by 1") == [
        ("2026-01-01", "accepted"), ("2026-02-01", "rejected"), ("2026-03-01", "rejected"), ("2026-04-01", "accepted")
    ]
    flagged = {r[0] for r in _query(db, "select patient_id from cohort.patient_flags")}
    assert flagged and not {p for p in flagged if p.startswith(("case-p", "gone-p"))}
    with duckdb.connect(str(cli["PUBLISHED_DIR"] / "marts.duckdb"), read_only=True) as con:
        assert con.execute("select batch_id from main.run_info").fetchone() == ("2026-04-01",)
    # The rejected batches' rows are held in raw and reconcile as held.
    assert _query(
        db, "select sum(rows_held), bool_and(balanced) from dq.batch_reconciliation where batch_id = '2026-02-01'"
    ) == [(30, True)]
    assert leftovers(_settings_of(cli)) == []
    calls = _hook_calls(cli)
    assert [(c["batch"], c["code"]) for c in calls] == [
        ("2026-02-01", "blocking_check_failed"), ("2026-03-01", "quarantine_threshold")
    ]
    assert json.loads(Path(calls[0]["summary"]).read_text())["reason_code"] == "blocking_check_failed"

    # The next night: the rejected batches run again (their alarm stays up), the accepted ones do not.
    assert main(["run", "--landing", str(landing)]) == 1
    assert sorted(_batch_lines(capsys.readouterr().out)) == ["2026-02-01", "2026-03-01"]


def _settings_of(cli: dict):
    from pipelines.settings import Settings

    return Settings(
        db_path=cli["DB"], published_dir=cli["PUBLISHED_DIR"], runs_dir=cli["RUNS_DIR"], landing_dir=cli["LANDING"]
    )


def test_reprocess_keeps_batch_ids_and_batch_ids_are_checked(cli, capsys, tmp_path: Path) -> None:
    extract = tmp_path / "synthea" / "output" / "csv"
    _batch(extract, "_base", success=False)  # Synthea's own output folder: no marker, named csv
    delta = _batch(tmp_path / "delta", "_template", success=False)
    assert main(["run", "--input", str(extract), "--batch-id", "2026-11-02"]) == 0
    assert main(["run", "--input", str(delta), "--batch-id", "2026-11-03"]) == 0
    capsys.readouterr()
    reconciliation = "select * exclude (computed_at) from dq.batch_reconciliation order by all"
    quarantine = "select batch_id, source_file, source_line, reason_code from quarantine.rows order by all"
    before = (_query(cli["DB"], reconciliation), _query(cli["DB"], quarantine))

    # Both came through `run --input` (no marker) from folders named csv and delta: re-run under their ids.
    assert main(["reprocess"]) == 0
    assert sorted(_batch_lines(capsys.readouterr().out)) == ["2026-11-02", "2026-11-03"]
    assert _query(cli["DB"], "select batch_id from raw._batches order by 1") == [("2026-11-02",), ("2026-11-03",)]
    assert (_query(cli["DB"], reconciliation), _query(cli["DB"], quarantine)) == before
    assert _query(cli["DB"], "select origin, count(*) from dq.batch_runs where success group by 1 order by 1") == [
        ("input", 2), ("reprocess", 2)
    ]

    # A folder name that is no batch id needs --batch-id; so does an id that is no id.
    assert main(["run", "--input", str(extract)]) == 2
    err = capsys.readouterr().err
    assert "batch id 'csv' does not follow the convention" in err and "--batch-id" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["run", "--input", str(extract), "--batch-id", "2026-11-01/x"]) == 2
    # A new batch sorting before an accepted one is refused, unless asked for.
    assert main(["run", "--input", str(delta), "--batch-id", "2026-11-01"]) == 1
    assert "reason=out_of_order: batch 2026-11-01 sorts before batch 2026-11-03" in capsys.readouterr().out
    assert main(["run", "--input", str(delta), "--batch-id", "2026-11-01", "--allow-out-of-order"]) == 0
    assert _query(cli["DB"], "select batch_id, state from raw._batches order by 1") == [
        ("2026-11-01", "accepted"), ("2026-11-02", "accepted"), ("2026-11-03", "accepted")
    ]


HOLDER = textwrap.dedent(
    """
    import sys, time, duckdb
    from pipelines.warehouse import lock as warehouse_lock
    if sys.argv[2] == "run":
        warehouse_lock.acquire(sys.argv[1], "a run started by the test")
    else:
        con = duckdb.connect(sys.argv[1])  # another program holding the file for writing
    print("holding", flush=True)
    sys.stdin.readline()
    """
)


@pytest.mark.parametrize("holder", ["run", "program"])
def test_a_warehouse_held_by_another_process_gives_one_line_a_record_and_the_hook(
    cli, capsys, tmp_path: Path, holder: str
) -> None:
    db = cli["DB"]
    db.parent.mkdir(parents=True)
    duckdb.connect(str(db)).close()
    batch = _batch(cli["LANDING"] / "2026-05-01", "_base")
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), holder],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout.readline().strip() == "holding"
        who = "another run holds the warehouse" if holder == "run" else "another process holds the warehouse"

        assert main(["run", "--input", str(batch)]) == 1
        out, err = capsys.readouterr()
        (line,) = _batch_lines(out).values()
        assert line.startswith("2026-05-01 FAILED") and f"reason=warehouse_busy: {who}" in line
        assert "Traceback" not in out + err

        assert main(["run", "--landing", str(cli["LANDING"])]) == 1
        out, err = capsys.readouterr()
        assert f"reason=warehouse_busy: {who}" in out and "Traceback" not in out + err

        assert main(["report"]) == 1
        out, err = capsys.readouterr()
        assert err.strip().startswith(f"cramp-cohort: {who}") and len(err.strip().splitlines()) == 1
        assert "Traceback" not in out + err
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)

    calls = _hook_calls(cli)
    assert [c["code"] for c in calls] == ["warehouse_busy", "warehouse_busy"]
    summary = json.loads(Path(calls[0]["summary"]).read_text())
    assert summary["reason_code"] == "warehouse_busy" and summary["batch_id"] == "2026-05-01"
    # The ledger row could not be written while the warehouse was held: the next run writes it.
    assert main(["run", "--input", str(batch)]) == 0
    assert _query(db, "select batch_id, success, reason from dq.batch_runs order by processed_at") == [
        ("2026-05-01", False, f"warehouse_busy: {summary['reason']}"),
        ("2026-05-01", True, None),
    ]


def test_the_real_cause_reaches_the_line_the_summary_the_ledger_and_the_hook(cli, capsys) -> None:
    key = cli["KEY_FILE"]
    key.parent.mkdir(parents=True)
    key.write_text("0123456789abcdef0123456789abcdef\n")
    key.chmod(0o644)  # readable by others: refused
    batch = _batch(cli["LANDING"] / "2026-06-01", "_base")

    assert main(["run", "--input", str(batch)]) == 1
    (line,) = _batch_lines(capsys.readouterr().out).values()
    cause = f"KeyFileError: key file {key} is accessible by group/others (mode 644); chmod 600 it"
    assert line.endswith(f"reason=key_file_error: {cause}")
    (call,) = _hook_calls(cli)
    assert call["reason"] == f"key_file_error: {cause}" and call["code"] == "key_file_error"
    summary = json.loads(Path(call["summary"]).read_text())
    assert (summary["reason"], summary["failed_step"]) == (cause, "marts")
    assert _query(cli["DB"], "select reason from dq.batch_runs") == [(f"key_file_error: {cause}",)]
