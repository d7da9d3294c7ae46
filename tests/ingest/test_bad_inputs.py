"""The bad-input corpus (tests/ingest/bad_inputs/<case>/): every kind of broken delivery met so far, each with
its outcome.

Each case is a batch folder made of `_template/` (a small valid extract) with the case's files laid over it, and an
`expected.json`: success or failure, the reason code, the rows quarantined by reason and line. The batch runs
through the real ingest assets (landing, raw, staging, acceptance, with the job's failure hook) against a warehouse
that already holds an accepted batch made from `_base/`; whatever happens, that batch must not change, and a
failed batch must leave nothing in staging. Cases with `"via": "cli"` are batch-id mistakes the CLI refuses
before any run. The reason must be one line, never a step name alone.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest
from run_helpers import run_ingest, settings_under

from pipelines.operations.summary import format_outcome_line

CORPUS = Path(__file__).parent / "bad_inputs"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.json").is_file())
BASE_BATCH, CASE_BATCH = "2026-01-01", "2026-02-01"


@pytest.fixture(scope="module")
def base_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus_base")
    batch = root / "landing" / BASE_BATCH
    shutil.copytree(CORPUS / "_base", batch)
    db = root / "warehouse.duckdb"
    outcome = run_ingest(db, batch, BASE_BATCH)
    assert outcome.success, outcome.reason
    return db


def _case_folder(case: str, spec: dict, landing: Path) -> Path:
    folder = landing / spec.get("folder_name", spec.get("batch_id", CASE_BATCH))
    shutil.copytree(CORPUS / "_template", folder)
    for name in spec.get("remove", []):
        (folder / name).unlink()
    for path in (CORPUS / case).iterdir():
        if path.name != "expected.json":
            shutil.copy(path, folder / path.name)
    generated = spec.get("generate")
    if generated == "ten_megabyte_field":  # not committed: 10 MB
        lines = (folder / "observations.csv").read_bytes().split(b"\n")
        lines[2] = lines[2].replace(b",Albumin,", b"," + b"x" * 10_000_000 + b",")
        (folder / "observations.csv").write_bytes(b"\n".join(lines))
    elif generated == "symlink_out_of_landing":
        outside = landing.parent / "elsewhere.csv"
        shutil.move(folder / "observations.csv", outside)
        (folder / "observations.csv").symlink_to(outside)
    return folder


def _snapshot(db: Path, batch_id: str) -> dict[str, list[tuple]]:
    """Everything the warehouse holds of one batch (staging, quarantine, reconciliation, registry)."""
    out: dict[str, list[tuple]] = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for (table,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'staging' "
            "and table_type = 'BASE TABLE' and table_name not in ('code_system_map') order by 1"
        ).fetchall():
            out[f"staging.{table}"] = con.execute(
                f"select * exclude (_batch_id) from staging.{table} where _batch_id = ? order by all", [batch_id]
            ).fetchall()
        out["quarantine"] = con.execute(
            "select source_file, source_line, reason_code from quarantine.rows where batch_id = ? order by all",
            [batch_id],
        ).fetchall()
        out["reconciliation"] = con.execute(
            "select * exclude (computed_at) from dq.batch_reconciliation where batch_id = ? order by all", [batch_id]
        ).fetchall()
        registered = con.execute("select * from raw._batches where batch_id = ?", [batch_id]).fetchdf()
        # (a warehouse of the release before batch states registered a batch once it had landed)
        out["state"] = [(s,) for s in registered.get("state", ["accepted"] * len(registered))]
    return out


@pytest.mark.parametrize("case", CASES)
def test_bad_input(case: str, base_warehouse: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    spec = json.loads((CORPUS / case / "expected.json").read_text())
    expect = spec["expect"]
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(base_warehouse, db)
    base_before = _snapshot(db, BASE_BATCH)
    folder = _case_folder(case, spec, tmp_path / "landing")
    batch_id = spec.get("batch_id", CASE_BATCH)

    if spec.get("via") == "cli":
        import logging

        from pipelines.cli import main

        root = logging.getLogger()  # the entry point configures logging: leave the root logger as found
        monkeypatch.setattr(root, "handlers", list(root.handlers))
        monkeypatch.setattr(root, "level", root.level)
        settings = settings_under(tmp_path)
        for name in list(os.environ):
            if name.startswith("CRAMP_COHORT_"):
                monkeypatch.delenv(name)
        monkeypatch.setenv("CRAMP_COHORT_DB", str(db))
        monkeypatch.setenv("CRAMP_COHORT_RUNS_DIR", str(settings.runs_dir))
        argv = ["run", "--input", str(folder)] + (["--batch-id", spec["batch_id"]] if "batch_id" in spec else [])
        assert main(argv) == expect["exit_code"]
        err = capsys.readouterr().err.strip()
        assert expect["stderr_contains"] in err and len(err.splitlines()) == 1, err
        assert _snapshot(db, BASE_BATCH) == base_before
        return

    outcome = run_ingest(db, folder, batch_id)
    line = format_outcome_line(outcome)
    assert "\n" not in line
    assert outcome.success == expect["success"], line
    case_state = _snapshot(db, batch_id)
    if not expect["success"]:
        assert outcome.reason_code == expect["reason_code"], line
        assert expect.get("reason_contains", "") in outcome.reason, line
        assert outcome.reason.strip() and outcome.reason != outcome.failed_step
        assert all(not rows for name, rows in case_state.items() if name.startswith("staging.")), "rows in staging"
        assert case_state["state"] in ([], [("rejected",)])
    else:
        assert case_state["state"] == [("accepted",)]
        quarantined: dict[str, int] = {}
        for _, _, reason in case_state["quarantine"]:
            quarantined[reason] = quarantined.get(reason, 0) + 1
        assert quarantined == expect["quarantined"], line
        if "quarantined_lines" in expect:
            assert sorted(line for _, line, _ in case_state["quarantine"]) == expect["quarantined_lines"]
        with duckdb.connect(str(db), read_only=True) as con:
            frame = con.execute("select * from dq.batch_reconciliation where batch_id = ?", [batch_id]).fetchdf()
            recon = {
                r["source_file"]: (r["balanced"], r["rows_loaded"], r.get("lines_blank"), r.get("lines_continued"))
                for r in frame.to_dict("records")
            }
        assert all(balanced for balanced, *_ in recon.values()), recon
        for file, rows in expect.get("rows_loaded_by_file", {}).items():
            assert recon[file][1] == rows, (file, recon[file])
        if "rows_loaded" in expect:
            assert sum(r[1] for r in recon.values()) == expect["rows_loaded"]
        for file, blank in expect.get("lines_blank", {}).items():
            assert recon[file][2] == blank
        for file, continued in expect.get("lines_continued", {}).items():
            assert recon[file][3] == continued
    assert getattr(outcome, "unknown_files", []) == expect.get("unknown_files", [])
    if expect.get("unknown_files"):
        assert f"unknown_files={','.join(expect['unknown_files'])}" in line
    assert _snapshot(db, BASE_BATCH) == base_before  # nothing of the other batch changed
