"""Two real pipeline runs over one generated extract: the project as it is, then a copy of the project whose
value-set seed differs (the way a site edits `sql/seeds/value_sets.csv` and runs again).

Each run is the real `cramp-cohort run` in a subprocess whose `pipelines` package is the project (run 1) or the
copy (run 2), both writing one DuckDB file. The value-set change is chosen from run 1's data so that a
known set of patients must move, computed here by an oracle independent of the pipeline's SQL (the spec's
chronic window over staging.conditions and cohort.cramp_events):

- `mimic_rls`: the `restless_legs` entry matching most patients is removed and the unlisted staged ICD-10-CM
  code that would add most patients is added (many patients leave and enter);
- `mimic_contracture`: one entry is removed whose removal moves between 1 and 10 patients (a small count).

Built once per test session (the runs take about a minute) and shared by the test modules that import it.
What a later run of the same version does with the diff is tested on hand-built warehouses
(tests/cohort/test_version_diff.py), where it costs no extra pipeline run.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipelines import PROJECT_ROOT
from pipelines.generate import generate_extract
from pipelines.reference.seeds import SEEDS_DIR

PATIENTS = 3000
SEED = 7
LARGE_FLAG, LARGE_SET = "mimic_rls", "restless_legs"
SMALL_FLAG = "mimic_contracture"
_CACHE: dict[str, VersionRuns] = {}


@dataclass
class RunState:
    """What the warehouse and the reports held right after one run."""

    version: str
    run_id: str
    patient_flags: pl.DataFrame
    version_runs: pl.DataFrame
    version_diff: pl.DataFrame
    mart: pl.DataFrame
    dashboard_html: str
    definition_html: str


@dataclass
class VersionRuns:
    root: Path
    db: Path
    reports: Path
    project_v2: Path
    removed: list[tuple[str, str, str]]  # (value set, code system, code)
    added: tuple[str, str, str]
    expected: dict[str, dict[str, set[str]]]  # flag -> entered / left -> patient ids
    runs: list[RunState] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return _environment(self.root)


def version_runs(tmp_path_factory) -> VersionRuns:
    if "runs" not in _CACHE:
        _CACHE["runs"] = _build(tmp_path_factory.mktemp("version_runs"))
    return _CACHE["runs"]


def _build(root: Path) -> VersionRuns:
    extract = root / "extract"
    generate_extract(extract, patients=PATIENTS, seed=SEED)
    db = root / "warehouse.duckdb"
    seed_rows = _read_value_sets(SEEDS_DIR / "value_sets.csv")
    rules = _read_csv(SEEDS_DIR / "flag_rules.csv")

    first = _run(PROJECT_ROOT, extract, db, root)
    with duckdb.connect(str(db), read_only=True) as con:
        removed, added, expected = _choose_change(con, seed_rows, rules)
    project_v2 = root / "project_v2"
    for part in ("pipelines", "sql", "expectations"):
        shutil.copytree(PROJECT_ROOT / part, project_v2 / part, ignore=shutil.ignore_patterns("__pycache__"))
    changed = [r for r in seed_rows if (r["value_set"], r["code_system"], r["code"]) not in removed]
    changed.append(
        {
            "value_set": added[0],
            "code_system": added[1],
            "code": added[2],
            "match": "exact",
            "description": "added by the version-diff test",
            "verified": "true",
        }
    )
    _write_value_sets(project_v2 / "sql" / "seeds" / "value_sets.csv", changed, list(seed_rows[0]))
    runs = VersionRuns(root, db, root / "reports", project_v2, removed, added, expected)
    runs.runs = [first, _run(project_v2, extract, db, root)]
    return runs


# Every run re-delivers the same extract under one batch id: only the definition changes between runs.
BATCH_ID = "2026-01-01"


def _run(project: Path, extract: Path, db: Path, root: Path) -> RunState:
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--input", str(extract), "--batch-id", BATCH_ID]
        + ["--db", str(db)],
        cwd=root,
        env=_environment(root, project),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with duckdb.connect(str(db), read_only=True) as con:
        version = con.execute("select phenotype_version from ref.phenotype_version").fetchone()[0]
        run_id = con.execute("select run_id from marts.run_info").fetchone()[0]
        state = RunState(
            version=version,
            run_id=run_id,
            patient_flags=con.sql("select * from cohort.patient_flags order by patient_id").pl(),
            version_runs=con.sql("select * from cohort.version_runs order by recorded_at, rowid").pl(),
            version_diff=con.sql("select * from cohort.version_diff order by flag, patient_id").pl(),
            mart=con.sql("select * from marts.version_diff_counts order by flag_order, change").pl(),
            dashboard_html=(root / "reports" / "dashboard.html").read_text(),
            definition_html=(root / "reports" / "definition.html").read_text(),
        )
    return state


def _environment(root: Path, project: Path = PROJECT_ROOT) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRAMP_COHORT_") and k != "DAGSTER_HOME"}
    env.update(
        {
            "PYTHONPATH": str(project),
            "CRAMP_COHORT_REPORTS_DIR": str(root / "reports"),
            "CRAMP_COHORT_PUBLISHED_DIR": str(root / "published"),
            "CRAMP_COHORT_RUNS_DIR": str(root / "runs"),
            "CRAMP_COHORT_LANDING": str(root / "landing"),
            "CRAMP_COHORT_KEY_FILE": str(root / "hmac.key"),
        }
    )
    return env


# -- the oracle: which cohort patients have a code of a value set in the chronic window of a cramp event -------


def flag_patients(con: duckdb.DuckDBPyConnection, entries: list[dict]) -> set[str]:
    """Cohort patients with a staged condition coded in `entries` (seed rows) in the chronic window of one of
    their cramp events: START <= C + chronic_days_after and (STOP missing or STOP >= C)."""
    if not entries:
        return set()
    after = int(
        con.execute("select value from ref.phenotype_parameters where parameter = 'chronic_days_after'").fetchone()[0]
    )
    keys = pl.DataFrame(
        {
            "code_system": [e["code_system"] for e in entries],
            "code_key": [
                e["code"].replace(".", "").upper() if e["code_system"] == "ICD10CM" else e["code"] for e in entries
            ],
            "is_prefix": [e["match"] == "prefix" for e in entries],
        }
    )
    con.register("oracle_keys", keys)
    try:
        rows = con.execute(
            """
            select distinct conditions.patient_id
            from staging.conditions as conditions
            inner join oracle_keys as keys
                on conditions.code_system = keys.code_system
                and (
                    conditions.code = keys.code_key
                    or (keys.is_prefix and starts_with(conditions.code, keys.code_key))
                )
            inner join cohort.cramp_events as cramps
                on conditions.patient_id = cramps.patient_id
            where conditions.start_date is not null
                and conditions.start_date <= cramps.event_date + ?::integer
                and (conditions.stop_date is null or conditions.stop_date >= cramps.event_date)
            """,
            [after],
        ).fetchall()
    finally:
        con.unregister("oracle_keys")
    return {r[0] for r in rows}


def _flag_entries(seed_rows: list[dict], rules: list[dict], flag: str) -> list[dict]:
    sets = {r["value_set"] for r in rules if r["flag"] == flag}
    # The oracle holds only for plain chronic rules whose value sets set no other flag.
    for rule in rules:
        if rule["value_set"] in sets:
            assert rule["flag"] == flag, f"{rule['value_set']} also sets {rule['flag']}"
            assert (rule["window"], rule["requires_flag"], rule["age_rule"]) == ("chronic", "", ""), rule
    return [r for r in seed_rows if r["value_set"] in sets]


def _choose_change(con: duckdb.DuckDBPyConnection, seed_rows: list[dict], rules: list[dict]):
    flags = dict(con.execute(f"select patient_id, {LARGE_FLAG} from cohort.patient_flags").fetchall())
    small_flags = dict(con.execute(f"select patient_id, {SMALL_FLAG} from cohort.patient_flags").fetchall())
    large_entries = _flag_entries(seed_rows, rules, LARGE_FLAG)
    small_entries = _flag_entries(seed_rows, rules, SMALL_FLAG)
    # The oracle reproduces run 1 before it is trusted to predict run 2.
    assert flag_patients(con, large_entries) == {p for p, v in flags.items() if v}
    assert flag_patients(con, small_entries) == {p for p, v in small_flags.items() if v}

    before = flag_patients(con, large_entries)
    drop = max(
        (e for e in large_entries if e["value_set"] == LARGE_SET),
        key=lambda e: len(before - flag_patients(con, [x for x in large_entries if x is not e])),
    )
    kept = [e for e in large_entries if e is not drop]
    listed = {(r["code_system"], r["code"].replace(".", "").upper()) for r in seed_rows}
    candidates = [
        code
        for (code,) in con.execute(
            "select distinct code from staging.conditions where code_system = 'ICD10CM' and length(code) >= 3"
        ).fetchall()
        if ("ICD10CM", code) not in listed and not any(code.startswith(k) for s, k in listed if s == "ICD10CM")
    ]
    after_drop = flag_patients(con, kept)

    def entry(code: str) -> dict:
        return {"value_set": LARGE_SET, "code_system": "ICD10CM", "code": code, "match": "exact"}

    add = max(sorted(candidates), key=lambda c: len(flag_patients(con, [entry(c)]) - after_drop))
    after = flag_patients(con, [*kept, entry(add)])

    small_before = flag_patients(con, small_entries)
    moves = {
        id(e): len(small_before - flag_patients(con, [x for x in small_entries if x is not e])) for e in small_entries
    }
    small_drop = min((e for e in small_entries if 1 <= moves[id(e)] <= 10), key=lambda e: moves[id(e)])
    small_after = flag_patients(con, [e for e in small_entries if e is not small_drop])

    expected = {
        LARGE_FLAG: {"entered": after - before, "left": before - after},
        SMALL_FLAG: {"entered": small_after - small_before, "left": small_before - small_after},
    }
    removed = [(e["value_set"], e["code_system"], e["code"]) for e in (drop, small_drop)]
    added = (LARGE_SET, "ICD10CM", _with_dot(add))
    return removed, added, expected


def _with_dot(code: str) -> str:
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def _read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _read_value_sets(path: Path) -> list[dict]:
    return _read_csv(path)


def _write_value_sets(path: Path, rows: list[dict], columns: list[str]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
