"""Fault injection: the CLI process is killed (SIGKILL) in the middle of each stage of a batch run.

After every kill the warehouse opens, and the published snapshot is byte for byte the one before. The same command
is then run again, and killed at the next stage (each attempt also recovers from the one before); the last attempt
runs through. It must leave nothing behind (no half-written table, no open restore point, no copy of a delivered
file, no snapshot folder that was never switched in) and give exactly the tables of one clean run.

The kills are placed by the documented test hook `CRAMP_COHORT_FAULT_AT=<stage>` (pipelines/faults.py), read where
each stage is half done, so the test never races a timer. The first kill is of a real `python -m pipelines.cli`
process; the later ones are of CLI processes forked from a helper that has done the imports already
(run_helpers.CliForker), which saves several seconds per kill.
"""

from __future__ import annotations

import signal
import subprocess
import time

import duckdb
import pytest
from run_helpers import (
    HISTORY,
    SAMPLE,
    CliForker,
    cli_command,
    cli_env,
    copy_warehouse,
    dump,
    leftovers,
    published_digest,
    settings_under,
    tables,
)

from pipelines.operations.processing import exit_code, process_folder
from pipelines.orchestration.runner import run_batch

FIRST, SECOND = SAMPLE / "2026-05-31", SAMPLE / "2026-06-30"
STAGES = ("raw_load", "staging", "validation", "cohort", "publish")
COMPARED_SCHEMAS = ("raw", "staging", "quarantine", "dq", "cohort", "marts")


def _assert_intact(settings, before, stage) -> None:
    with duckdb.connect(str(settings.db_path), read_only=True) as con:  # the warehouse opens
        assert con.execute("select count(*) from raw._batches where batch_id = '2026-05-31'").fetchone() == (1,)
    assert published_digest(settings.published_dir) == before, stage  # the snapshot is the one before


def _run_in_process(settings, folder):
    runner = lambda path, batch_id: run_batch(path, batch_id, settings=settings)  # noqa: E731
    return process_folder(folder, folder.name, settings, runner, echo=lambda _: None)


@pytest.fixture(scope="module")
def first_batch_done(tmp_path_factory):
    """A warehouse that has published the first sample batch."""
    base = tmp_path_factory.mktemp("faults") / "base"
    settings = settings_under(base)
    assert _run_in_process(settings, FIRST).success
    return base


def test_a_kill_at_every_stage_leaves_the_snapshot_and_the_rerun_equals_a_clean_run(first_batch_done, tmp_path):
    clean, work = tmp_path / "clean", tmp_path / "work"
    copy_warehouse(first_batch_done, clean)
    copy_warehouse(first_batch_done, work)
    clean_settings, settings = settings_under(clean), settings_under(work)
    assert exit_code([_run_in_process(clean_settings, SECOND)]) == 0

    before = published_digest(settings.published_dir)
    argv = ["run", "--input", str(SECOND)]
    killed = subprocess.run(
        cli_command(*argv), env=cli_env(settings, CRAMP_COHORT_FAULT_AT=STAGES[0]), capture_output=True, text=True,
        timeout=600,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    _assert_intact(settings, before, STAGES[0])
    forker = CliForker()
    try:
        for stage in STAGES[1:]:
            started = time.monotonic()
            log = tmp_path / f"{stage}.log"
            result = forker.run(argv, cli_env(settings, CRAMP_COHORT_FAULT_AT=stage), log)
            assert result == (signal.SIGKILL, None), (stage, result, log.read_text()[-2000:])
            _assert_intact(settings, before, stage)
            print(f"killed at {stage} after {time.monotonic() - started:.1f} s")
    finally:
        forker.close()

    assert exit_code([_run_in_process(settings, SECOND)]) == 0  # the command once more, to the end
    assert leftovers(settings) == []
    assert published_digest(settings.published_dir) != before
    compared = [t for t in tables(clean_settings.db_path, COMPARED_SCHEMAS) if t not in HISTORY]
    assert tables(settings.db_path, COMPARED_SCHEMAS) == tables(clean_settings.db_path, COMPARED_SCHEMAS)
    assert {"staging.observations", "cohort.patient_flags", "marts.flag_prevalence"} <= set(compared)
    for table in compared:
        assert dump(settings.db_path, table) == dump(clean_settings.db_path, table), table
    with duckdb.connect(str(settings.published_dir / "marts.duckdb"), read_only=True) as con:
        snapshot_tables = [r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()]
    for table in snapshot_tables:
        assert dump(settings.published_dir / "marts.duckdb", f"main.{table}") == dump(
            clean_settings.published_dir / "marts.duckdb", f"main.{table}"
        ), table
