"""Output equivalence: every output table of a warehouse as a fingerprint, and a comparison of two of them.

A fingerprint holds, per table, its columns, its row count and a SHA-256 over its rows in a canonical order
(`order by all` over the kept columns). Columns that name a run or a time are left out (they differ between two
equal runs), and a quarantined row's raw record drops its `_loaded_at`. Two warehouses built from the same
extract by two versions of the code must have equal fingerprints table by table: that is how a restructuring,
an incremental path or another engine proves it changed nothing.

The builds go through the `cramp-cohort` command in a subprocess, so the same tool runs against any version of
the code (before and after a change). Commands (from the project root):

    python -m tests.equivalence.outputs build sample DIR          # both sample batches through run --landing
    python -m tests.equivalence.outputs build vignettes DIR       # the clinical vignettes through run --input
    python -m tests.equivalence.outputs build quality DIR    # the data-quality fixture (rule failures, a blocked batch)
    python -m tests.equivalence.outputs build landing:PATH DIR    # any landing folder (e.g. a generated extract)
    python -m tests.equivalence.outputs build sample DIR --engine spark   # the same on the Spark engine
    python -m tests.equivalence.outputs fingerprint DB [--out FILE.json]
    python -m tests.equivalence.outputs compare A B               # A, B: fingerprint JSON or DuckDB files
    python -m tests.equivalence.outputs refresh-golden            # rewrite tests/equivalence/golden/*.json

`refresh-golden` is the only way the committed fingerprints change: run it when an output is meant to change,
and say why in the commit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden")
SAMPLE = ROOT / "data_samples" / "synthea_sample"
VIGNETTES = ROOT / "tests" / "vignettes" / "extract"
VIGNETTES_BATCH = "2024-12-01"
# Two small batches with a defect of every kind, a row failing a data-quality rule (quarantined at staging) and a
# re-delivery whose failing rules block it (the batch is rejected and its landing undone).
QUALITY = ROOT / "tests" / "quality_fixtures" / "extract"
QUALITY_BATCHES = ("2026-01-01", "2026-02-01")
# A fixed HMAC key: de-identified keys (should a mart carry one) are equal across builds.
TEST_KEY = "equivalence-test-key-0123456789abcdef"

# Schemas whose tables are outputs (or the inputs of outputs) and must not change by accident.
SCHEMAS = ("staging", "quarantine", "dq", "ref", "intermediate", "cohort", "marts")
# Bookkeeping that records runs rather than results: the ledger of batch runs, the cohort's build record.
SKIPPED_TABLES = {"dq.batch_runs", "dq.cohort_builds"}
# Columns that name a run, a moment or a folder of this machine: they differ between two equal runs.
VOLATILE_COLUMNS = {
    "run_id",
    "diff_run_id",
    "marts_run_id",
    "state_run_id",
    "_loaded_at",
    "loaded_at",
    "registered_at",
    "quarantined_at",
    "computed_at",
    "checked_at",
    "state_changed_at",
    "processed_at",
    "published_at",
    "built_at",
    "recorded_at",
    "diffed_at",
    "source_dir",
    "summary_path",
}


@dataclass(frozen=True)
class TableFingerprint:
    columns: tuple[str, ...]
    rows: int
    sha256: str


def fingerprint(db_path: Path, ignored: frozenset[str] = frozenset()) -> dict[str, TableFingerprint]:
    """Every output table of the DuckDB file (views excluded: they hold no rows of their own); `ignored` names
    further columns to leave out, as `schema.table.column`."""
    out: dict[str, TableFingerprint] = {}
    with duckdb.connect(str(db_path), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = current_database() "
            f"and schema_name in ({', '.join('?' for _ in SCHEMAS)}) order by 1, 2",
            list(SCHEMAS),
        ).fetchall()
        for schema, table in tables:
            name = f"{schema}.{table}"
            if name in SKIPPED_TABLES:
                continue
            out[name] = _table_fingerprint(con, schema, table, ignored)
    return out


def _table_fingerprint(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, ignored: frozenset[str] = frozenset()
) -> TableFingerprint:
    columns = [
        c
        for (c,) in con.execute(
            "select column_name from duckdb_columns() where database_name = current_database() "
            "and schema_name = ? and table_name = ? order by column_index",
            [schema, table],
        ).fetchall()
        if c not in VOLATILE_COLUMNS and f"{schema}.{table}.{c}" not in ignored
    ]
    selected = ", ".join(_canonical(c) for c in columns) or "1"
    cursor = con.execute(f'select {selected} from "{schema}"."{table}" order by all')
    digest = hashlib.sha256()
    rows = 0
    while batch := cursor.fetchmany(10_000):
        for row in batch:
            digest.update(repr(row).encode())
            digest.update(b"\n")
        rows += len(batch)
    return TableFingerprint(tuple(columns), rows, digest.hexdigest())


def _canonical(column: str) -> str:
    quoted = '"' + column.replace('"', '""') + '"'
    if column == "raw_record":  # a raw record carries its load time: drop it, the rest must be equal
        return f"""regexp_replace({quoted}, '"_loaded_at":"[^"]*"', '') as {quoted}"""
    return quoted


def to_json(prints: dict[str, TableFingerprint]) -> str:
    doc = {name: {"columns": list(fp.columns), "rows": fp.rows, "sha256": fp.sha256} for name, fp in prints.items()}
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def from_json(text: str) -> dict[str, TableFingerprint]:
    return {
        name: TableFingerprint(tuple(fp["columns"]), fp["rows"], fp["sha256"]) for name, fp in json.loads(text).items()
    }


def load(path: Path, ignored: frozenset[str] = frozenset()) -> dict[str, TableFingerprint]:
    """A fingerprint from a JSON file, or computed from a DuckDB file (without the `ignored` columns)."""
    path = Path(path)
    if path.suffix == ".json":
        if ignored:
            raise SystemExit("--ignore needs two DuckDB files (a JSON fingerprint holds no columns to drop)")
        return from_json(path.read_text())
    return fingerprint(path, ignored)


def differences(
    before: dict[str, TableFingerprint], after: dict[str, TableFingerprint], moved: dict[str, str] | None = None
) -> list[str]:
    """One line per table that differs; empty when the outputs are equivalent.

    `moved` maps a table of `before` to its new name in `after` (a table that changed schema or name on purpose,
    its contents unchanged); a table present on one side only is a difference.
    """
    moved = moved or {}
    problems: list[str] = []
    for name in sorted(set(before) | set(after)):
        if name in moved.values() and name not in before:
            continue  # compared under its old name
        target = moved.get(name, name)
        old, new = before.get(name), after.get(target)
        label = name if target == name else f"{name} -> {target}"
        if old is None:
            problems.append(f"{label}: only after ({new.rows} rows)")
        elif new is None:
            problems.append(f"{label}: only before ({old.rows} rows)")
        elif old.columns != new.columns:
            problems.append(f"{label}: columns differ: {list(old.columns)} -> {list(new.columns)}")
        elif old.rows != new.rows:
            problems.append(f"{label}: {old.rows} rows -> {new.rows} rows")
        elif old.sha256 != new.sha256:
            problems.append(f"{label}: same {old.rows} rows count, different contents")
    return problems


def row_differences(a: Path, b: Path, table: str, limit: int = 5) -> list[str]:
    """A few rows present in one warehouse's table and not in the other's (both DuckDB files)."""
    prints = fingerprint(a)
    columns = prints[table].columns if table in prints else ()
    if not columns:
        return []
    selected = ", ".join(_canonical(c) for c in columns)
    schema, name = table.split(".")
    with duckdb.connect() as con:
        con.execute(f"attach '{a}' as a (read_only)")
        con.execute(f"attach '{b}' as b (read_only)")
        lines = []
        for left, right in (("a", "b"), ("b", "a")):
            rows = con.execute(
                f'select {selected} from {left}."{schema}"."{name}" except all '
                f'select {selected} from {right}."{schema}"."{name}" order by all limit {limit}'
            ).fetchall()
            lines += [f"only in {left}: {row}" for row in rows]
    return lines


def build(case: str, workdir: Path, engine: str = "duckdb", spark_master: str = "local[2]") -> Path:
    """Runs `cramp-cohort` over one case into `workdir` (which must not hold a warehouse yet); the DuckDB file.
    With `engine="spark"` the run uses the Spark engine on `spark_master` (its tables under `workdir`); the DuckDB
    file then holds what Spark built, read back with the contract's types, and is fingerprinted the same way.

    A run that fails part of the way still leaves outputs to compare (the vignettes stop at the disclosure audit of
    the marts: 3 of their 148 patients are outside the cohort, a count the other marts would give away)."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "warehouse.duckdb"
    key = workdir / "hmac.key"
    key.write_text(TEST_KEY)
    key.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRAMP_COHORT_") and k != "DAGSTER_HOME"}
    env.update(
        CRAMP_COHORT_DB=str(db),
        CRAMP_COHORT_LANDING=str(workdir / "landing"),
        CRAMP_COHORT_RUNS_DIR=str(workdir / "runs"),
        CRAMP_COHORT_REPORTS_DIR=str(workdir / "reports"),
        CRAMP_COHORT_PUBLISHED_DIR=str(workdir / "published"),
        CRAMP_COHORT_KEY_FILE=str(key),
        CRAMP_COHORT_LOG_LEVEL="WARNING",
        CRAMP_COHORT_ENGINE=engine,
        PYTHONPATH=str(ROOT),
    )
    if engine == "spark":
        env.update(CRAMP_COHORT_SPARK_MASTER=spark_master, CRAMP_COHORT_WAREHOUSE_DIR=str(workdir / "spark"))
    if case == "sample":
        commands = [["run", "--landing", str(SAMPLE)]]
    elif case == "vignettes":
        commands = [["run", "--input", str(VIGNETTES), "--batch-id", VIGNETTES_BATCH]]
    elif case == "quality":
        commands = [["run", "--input", str(QUALITY / batch), "--batch-id", batch] for batch in QUALITY_BATCHES]
        env.update(CRAMP_COHORT_MAX_QUARANTINE_SHARE="1.0")  # a quarter of the rows are defects on purpose
    elif case.startswith("landing:"):
        commands = [["run", "--landing", case.removeprefix("landing:")]]
    else:
        raise SystemExit(f"unknown case {case!r}: sample, vignettes, quality or landing:PATH")
    for args in commands:
        done = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", *args], cwd=workdir, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            print(f"cramp-cohort {' '.join(args)} exited {done.returncode}: {done.stdout.strip()}", file=sys.stderr)
    if not db.exists():
        raise SystemExit(f"no warehouse written:\n{done.stdout}\n{done.stderr}")
    return db


def golden_path(case: str) -> Path:
    return GOLDEN / f"{case}.json"


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.equivalence.outputs", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("build", help="build a warehouse for a case")
    b.add_argument("case")
    b.add_argument("workdir", type=Path)
    b.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    f = commands.add_parser("fingerprint", help="fingerprint a DuckDB file")
    f.add_argument("db", type=Path)
    f.add_argument("--out", type=Path)
    c = commands.add_parser("compare", help="compare two fingerprints (JSON) or warehouses (DuckDB)")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    c.add_argument("--moved", action="append", default=[], metavar="OLD=NEW", help="a table renamed on purpose")
    c.add_argument(
        "--ignore", action="append", default=[], metavar="SCHEMA.TABLE.COLUMN", help="a column changed on purpose"
    )
    commands.add_parser("refresh-golden", help="rebuild the sample and the vignettes and rewrite the golden files")
    args = parser.parse_args(argv)

    if args.command == "build":
        print(build(args.case, args.workdir, args.engine))
        return 0
    if args.command == "fingerprint":
        text = to_json(fingerprint(args.db))
        if args.out:
            args.out.write_text(text)
        else:
            sys.stdout.write(text)
        return 0
    if args.command == "compare":
        moved = dict(item.split("=", 1) for item in args.moved)
        ignored = frozenset(args.ignore)
        before, after = load(args.before, ignored), load(args.after, ignored)
        problems = differences(before, after, moved)
        for line in problems:
            print(line)
            table = line.split(":")[0].split(" -> ")[0]
            if args.before.suffix == args.after.suffix == ".duckdb" and "contents" in line:
                for detail in row_differences(args.before, args.after, table):
                    print("    " + detail)
        compared = len(set(before) | set(after))
        print(f"{compared} tables compared, {len(problems)} differ" if problems else f"{compared} tables: equal")
        return 1 if problems else 0
    GOLDEN.mkdir(exist_ok=True)
    for case in ("sample", "vignettes"):
        with tempfile.TemporaryDirectory(prefix=f"golden-{case}-") as tmp:
            db = build(case, Path(tmp))
            golden_path(case).write_text(to_json(fingerprint(db)))
            print(f"wrote {golden_path(case)}")
    return 0


if __name__ == "__main__":
    sys.exit(_main())


def missing_spark_tables(spark_dir: Path) -> list[str]:
    """The staging and phenotype tables that have no complete Spark version under a run's warehouse_dir (none:
    staging and the phenotype ran on Spark)."""
    from pipelines.cohort.models import ASSET_MODELS
    from pipelines.contract.synthea import LAYOUTS

    staging = [f"staging.{name}" for name in LAYOUTS]
    phenotype = [table for tables in ASSET_MODELS.values() for table in tables]
    return [table for table in staging + phenotype if _current_spark_version(spark_dir, table) is None]


def spark_copy_differences(
    db_path: Path, spark_dir: Path, schemas: tuple[str, ...], leave_out: tuple[str, ...] = ()
) -> list[str]:
    """Tables of `schemas` in the DuckDB file (but `leave_out`) whose current Spark version is missing or holds
    other rows."""
    problems = []
    with duckdb.connect(str(db_path), read_only=True) as con:
        names = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() "
            "where database_name = current_database() and list_contains(?, schema_name) order by 1",
            [list(schemas)],
        ).fetchall()
        for (table,) in (n for n in names if n[0] not in leave_out):
            version = _current_spark_version(spark_dir, table)
            if version is None:
                problems.append(f"{table}: no Spark version")
                continue
            copy = f"read_parquet('{version}/*.parquet')"
            differing = con.execute(
                f"select count(*) from ((select * from {table} except all select * from {copy}) "
                f"union all (select * from {copy} except all select * from {table}))"
            ).fetchone()[0]
            if differing:
                problems.append(f"{table}: {differing} rows differ")
    return problems


def _current_spark_version(spark_dir: Path, table: str) -> Path | None:
    schema, name = table.split(".")
    complete = [v for v in sorted((spark_dir / schema / name).glob("v*")) if (v / "_SUCCESS").exists()]
    return complete[-1] if complete else None
