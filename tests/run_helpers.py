"""Helpers for tests that run whole batches: settings under one folder, table dumps for comparing two warehouses,
a digest of the published snapshot, and leftovers of interrupted runs."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.operations.outcome import BatchOutcome
from pipelines.orchestration.assets import ingest
from pipelines.orchestration.jobs import reject_pending_batch
from pipelines.orchestration.partitions import SOURCE_DIR_TAG, batch_partitions
from pipelines.orchestration.run_log import outcome_from_run
from pipelines.settings import Settings
from tests.harness import pipeline_resources

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data_samples" / "synthea_sample"
# Columns that record when or in which run something happened: they differ between two equal runs.
VOLATILE = {"run_id", "_loaded_at", "loaded_at", "registered_at", "quarantined_at", "computed_at", "checked_at",
            "state_changed_at", "state_run_id", "processed_at", "published_at", "built_at", "source_dir",
            "summary_path", "recorded_at", "diffed_at",
            "accepted_batches"}  # dq.cohort_builds: a digest of the batches and when each was accepted
# History that a killed attempt legitimately adds to (one row per check per run, one per batch run, one per run
# that reached the version-diff step), and the scope of a batch's last run: a run after a kill that had accepted
# the batch takes the full path (no scope) where a clean run took the incremental one, with equal outputs.
HISTORY = {"dq.check_results", "dq.batch_runs", "cohort.version_runs", "raw._affected_patients"}


def settings_under(base: Path, **extra: object) -> Settings:
    """Every path of the settings below `base` (the HMAC key too: equal keys give equal de-identified marts)."""
    return Settings(
        db_path=base / "warehouse.duckdb",
        landing_dir=base / "landing",
        runs_dir=base / "runs",
        reports_dir=base / "reports",
        published_dir=base / "published",
        key_file=base.parent / "hmac.key",
        **extra,
    )


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a `cramp-cohort` process using `settings` (as cron would set it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRAMP_COHORT_") and k != "DAGSTER_HOME"}
    env.update(
        CRAMP_COHORT_DB=str(settings.db_path),
        CRAMP_COHORT_LANDING=str(settings.landing_dir),
        CRAMP_COHORT_RUNS_DIR=str(settings.runs_dir),
        CRAMP_COHORT_REPORTS_DIR=str(settings.reports_dir),
        CRAMP_COHORT_PUBLISHED_DIR=str(settings.published_dir),
        CRAMP_COHORT_KEY_FILE=str(settings.key_file),
        CRAMP_COHORT_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", *args]


def copy_warehouse(source: Path, target: Path) -> None:
    """A copy of a whole test folder (warehouse, published snapshot, runs), symbolic links kept as links."""
    shutil.copytree(source, target, symlinks=True)


def tables(db: Path, schemas: tuple[str, ...]) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [
            f"{s}.{t}"
            for s, t in con.execute(
                "select table_schema, table_name from information_schema.tables "
                f"where table_schema in ({', '.join('?' for _ in schemas)}) order by 1, 2",
                list(schemas),
            ).fetchall()
        ]


def dump(db: Path, table: str) -> list[tuple]:
    """The table's rows, sorted, without the columns that record when or in which run."""
    schema, name = table.split(".")
    with duckdb.connect(str(db), read_only=True) as con:
        columns = [
            c
            for (c,) in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "order by ordinal_position",
                [schema, name],
            ).fetchall()
            if c not in VOLATILE
        ]
        # A raw record carries its load time (`_loaded_at`): drop it, the rest must be equal.
        quoted = ", ".join(
            f"""regexp_replace("{c}", '"_loaded_at":"[^"]*"', '')""" if c == "raw_record" else f'"{c}"'
            for c in columns
        )
        return con.execute(f'select {quoted} from {schema}."{name}" order by all').fetchall()


def published_digest(published: Path) -> tuple[str, str, str]:
    """What a reader of the published snapshot gets: the link targets and the bytes of the DuckDB file."""
    snapshot = published / "marts.duckdb"
    data = hashlib.sha256(snapshot.read_bytes()).hexdigest()
    return os.readlink(published / "current"), str(snapshot.resolve().relative_to(published.resolve())), data


def leftovers(settings: Settings) -> list[str]:
    """Everything an interrupted run may leave behind; empty after a run that finished."""
    found: list[str] = []
    db = settings.db_path
    with duckdb.connect(str(db), read_only=True) as con:
        found += [
            f"{s}.{t}"
            for s, t in con.execute(
                "select schema_name, table_name from duckdb_tables() "
                "where table_name like '%\\_\\_next' escape '\\' or table_name like '%\\_\\_accepted' escape '\\'"
            ).fetchall()
        ]
        if con.execute(
            "select count(*) from information_schema.tables where table_schema = 'restore_point' "
            "and table_name = 'opened'"
        ).fetchone()[0]:
            found += [f"open restore point of {b}" for (b,) in con.execute(
                "select batch_id from restore_point.opened").fetchall()]
        found += [f"batch {b} is {s}" for b, s in con.execute(
            "select batch_id, state from raw._batches where state in ('loading', 'loaded')").fetchall()]
    inbox = db.parent / f".{db.name}.inbox"
    if inbox.exists() and any(inbox.iterdir()):
        found.append(str(inbox))
    snapshots = settings.published_dir / "snapshots"
    if snapshots.is_dir():
        current = os.readlink(settings.published_dir / "current").split("/")[-1]
        found += [str(p) for p in snapshots.iterdir() if p.name.startswith(".") or p.name > current]
    if settings.published_dir.is_dir():
        found += [str(p) for p in settings.published_dir.iterdir() if p.name.startswith(".")]
    return found


_ZYGOTE = r"""
import json, os, sys
import duckdb, great_expectations, pipelines.cli, pipelines.orchestration.definitions  # what a run imports, done once
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:  # the child: a fresh CLI process in all but the imports
        os.environ.clear()
        os.environ.update(request["env"])
        with open(request["log"], "ab") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
        os._exit(pipelines.cli.main(request["argv"]))
    _, status = os.waitpid(pid, 0)
    killed_by = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    print(json.dumps({"signal": killed_by, "code": code}), flush=True)
"""


class CliForker:
    """Starts `cramp-cohort` processes quickly: a helper process imports the CLI and its libraries once (no thread
    runs then, so forking is safe) and forks one child per command, which runs `pipelines.cli.main` and exits (or
    is killed). Saves the 5-10 s of imports each CLI process would otherwise spend."""

    def __init__(self) -> None:
        import subprocess

        env = {k: v for k, v in os.environ.items() if not k.startswith("CRAMP_COHORT_") and k != "DAGSTER_HOME"}
        env["PYTHONPATH"] = str(ROOT)
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )

    def run(self, argv: list[str], env: dict[str, str], log: Path) -> tuple[int | None, int | None]:
        """(signal that killed the child or None, exit code or None)."""
        import json

        assert self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(json.dumps({"argv": argv, "env": env, "log": str(log)}) + "\n")
        self._proc.stdin.flush()
        answer = json.loads(self._proc.stdout.readline())
        return answer["signal"], answer["code"]

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=60)


def _job(db: Path, landing: Path) -> dg.JobDefinition:
    """The ingest assets as one job, with the job's failure hook (what `process_batch` runs up to acceptance)."""
    assets = ingest.ingest_assets
    job = dg.define_asset_job(
        "ingest_only", selection=dg.AssetSelection.assets(*assets), hooks={reject_pending_batch}
    )
    defs = dg.Definitions(
        assets=assets,
        jobs=[job],
        resources=pipeline_resources(db, landing),
        executor=dg.in_process_executor,
    )
    return defs.resolve_job_def("ingest_only")


def run_ingest(db: Path, folder: Path, batch_id: str) -> BatchOutcome:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(batch_partitions.name, [batch_id])
    result = _job(db, folder.parent).execute_in_process(
        partition_key=batch_id, instance=instance, tags={SOURCE_DIR_TAG: str(folder)}, raise_on_error=False
    )
    return outcome_from_run(instance, result.dagster_run, db)
