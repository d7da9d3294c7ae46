"""Batch sequences for the incremental-versus-full equivalence tests.

A small population comes from the generator (`pipelines/generate`, no defects). The first batch (`BASE_ID`) holds
every patient but the newcomers and is run once with `--full`; the tests copy that warehouse twice and feed both
copies the same further batches through the real `cramp-cohort run` command: warehouse A as a scheduled run does
(incremental when the warehouse allows it), warehouse B with `--full` on every run (every staging, cohort and marts
table rebuilt over all admitted batches). After each batch the two must hold the same rows in every compared table.

A further batch is described by a `Step`: which batch id it carries (the next one, a re-delivery of an earlier id
with other contents, or a new id that sorts before accepted ones, run with `--allow-out-of-order`), which patients
it delivers (their patient row, some of their encounters with every event at them, an update of one kind), which
encounters it re-delivers under another patient (with their events), and which defect rows it adds. Steps are
plain data, so a failing hypothesis example prints as a readable recipe.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb

from tests.equivalence.outputs import TEST_KEY, VOLATILE_COLUMNS, differences, fingerprint, row_differences
from tests.run_helpers import CliForker, cli_env, copy_warehouse, settings_under

FILES = ("patients", "encounters", "conditions", "observations", "medications", "procedures")
EVENT_FILES = FILES[2:]
POOL_PATIENTS = 30
POOL_SEED = 7
ACTIVE_PATIENTS = 6  # patients the drawn batches touch: the planted cramp patients first, then others
NEWCOMERS = 2  # active patients left out of the base batch: a later batch brings them in
BASE_ID = "2026-01-15"
# Tiny batches with a defect row or two are mostly quarantine by share; the limit is the same on both sides.
MAX_QUARANTINE_SHARE = "0.6"

# What must be equal, table by table: every table of these schemas, plus the bookkeeping of ingest that both
# paths write alike (lineage, supersession, and the staging rules' per-row ledger and counts). Not compared:
# dq.check_results (each run's measurements: an incremental run validates the batch's rows, by design), dq.batch_runs
# (the ledger: one row per run), ref.* (the seed files, equal by construction), cohort.build_state (the record of
# which path built the cohort: skipped by outputs.fingerprint).
COMPARED_SCHEMAS = ("staging", "quarantine", "intermediate", "cohort", "marts")
COMPARED_DQ_TABLES = (
    "dq.batch_reconciliation",
    "dq.superseded_rows",
    "dq.staging_rule_counts",
    "dq.staging_rule_failures",
)
# Left out of every compared table: the wall-clock and run-id columns of outputs.VOLATILE_COLUMNS (plus a
# quarantined row's `_loaded_at` inside raw_record), named here so a report can list them.
IGNORED_COLUMNS = tuple(sorted(VOLATILE_COLUMNS))

UPDATES = (None, "description", "value", "stop", "death", "birth")
DEFECTS = ("bad_birth_date", "bad_event_date", "orphan_patient", "orphan_encounter", "missing_field")


@dataclass(frozen=True)
class Delivery:
    """Patient number `patient` (of the active ones) delivered again: the patient row if `patient_row`, the
    encounters numbered `encounters` (modulo the patient's count) with every event at them, changed by `update`:
    description (text outside every natural key), value (observation values x0.8: a lab can cross a threshold),
    stop (a condition's STOP cleared or set to its START), death (DEATHDATE at the middle encounter: later events
    are rejected), birth (BIRTHDATE moved to the second encounter: earlier events are rejected)."""

    patient: int
    patient_row: bool = True
    encounters: tuple[int, ...] = ()
    update: str | None = None


@dataclass(frozen=True)
class Move:
    """Encounter number `encounter` of active patient `source` re-delivered under active patient `target` (the
    next active patient when they are the same), with every event at it."""

    source: int
    encounter: int
    target: int


@dataclass(frozen=True)
class Defect:
    """One defect row about active patient `patient`: a patient row with an impossible BIRTHDATE, a condition
    with an impossible START, an encounter of an unknown patient, an observation at an unknown encounter, or a
    condition without CODE."""

    kind: str
    patient: int


@dataclass(frozen=True)
class Step:
    """One batch after the base: `kind` is next (a new id after every other), redeliver (the id of earlier batch
    number `target`, modulo how many there are, the base being 0) or out_of_order (a new id just before batch
    `target`'s month, run with --allow-out-of-order)."""

    kind: str = "next"
    target: int = 0
    deliveries: tuple[Delivery, ...] = ()
    moves: tuple[Move, ...] = ()
    defects: tuple[Defect, ...] = ()


@dataclass
class Pool:
    """The generated population as text rows, by file, in the generator's column order."""

    headers: dict[str, list[str]]
    rows: dict[str, list[dict[str, str]]]
    active: tuple[str, ...]
    newcomers: tuple[str, ...]

    def patient(self, pid: str) -> dict[str, str]:
        return next(r for r in self.rows["patients"] if r["Id"] == pid)

    def encounters(self, pid: str) -> list[dict[str, str]]:
        return [r for r in self.rows["encounters"] if r["PATIENT"] == pid]

    def events(self, encounter_id: str) -> dict[str, list[dict[str, str]]]:
        return {f: [r for r in self.rows[f] if r["ENCOUNTER"] == encounter_id] for f in EVENT_FILES}

    def patient_rows(self, pids: set[str]) -> dict[str, list[dict[str, str]]]:
        key = {f: "Id" if f == "patients" else "PATIENT" for f in FILES}
        return {f: [r for r in self.rows[f] if r[key[f]] in pids] for f in FILES}


def make_pool(folder: Path) -> Pool:
    """Generates the population into `folder` and reads it back; the active patients are the planted cramp
    patients, then the other patients with at least three encounters, a condition and an observation."""
    from pipelines.generate import generate_extract, read_truth

    generate_extract(folder, patients=POOL_PATIENTS, seed=POOL_SEED)
    headers: dict[str, list[str]] = {}
    rows: dict[str, list[dict[str, str]]] = {}
    for name in FILES:
        with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            headers[name] = list(reader.fieldnames or [])
            rows[name] = list(reader)
    cramp = sorted(read_truth(folder)["patient_flags"]["patient_id"].to_list())

    def rich(pid: str) -> bool:
        return (
            sum(r["PATIENT"] == pid for r in rows["encounters"]) >= 3
            and any(r["PATIENT"] == pid for r in rows["conditions"])
            and any(r["PATIENT"] == pid for r in rows["observations"])
        )

    others = [r["Id"] for r in rows["patients"] if r["Id"] not in cramp and rich(r["Id"])]
    active = tuple([p for p in cramp if rich(p)] + sorted(others))[:ACTIVE_PATIENTS]
    assert len(active) == ACTIVE_PATIENTS, "the generated pool has too few rich patients"
    # One cramp patient and one other arrive later: the last of each kind.
    newcomers = (active[len(cramp) - 1] if cramp else active[0], active[-1])
    return Pool(headers, rows, active, newcomers)


def base_rows(pool: Pool) -> dict[str, list[dict[str, str]]]:
    everyone = {r["Id"] for r in pool.rows["patients"]} - set(pool.newcomers)
    return pool.patient_rows(everyone)


# --- the rows of a step -------------------------------------------------------------------------------------------


def _updated(row: dict[str, str], name: str, update: str | None) -> dict[str, str]:
    row = dict(row)
    if update == "description" and "DESCRIPTION" in row and name != "patients":
        row["DESCRIPTION"] = f"{row['DESCRIPTION']} (updated)"
    elif update == "value" and name == "observations":
        try:
            row["VALUE"] = f"{float(row['VALUE']) * 0.8:.2f}"
        except ValueError:
            pass  # a coded or text value stays as it is
    elif update == "stop" and name == "conditions":
        row["STOP"] = "" if row["STOP"] else row["START"]
    return row


def _day(timestamp: str) -> str:
    return timestamp[:10]


def _patient_row(pool: Pool, pid: str, update: str | None) -> dict[str, str]:
    row = dict(pool.patient(pid))
    encounters = sorted(pool.encounters(pid), key=lambda r: r["START"])
    if update == "death":
        row["DEATHDATE"] = _day(encounters[len(encounters) // 2]["START"])
    elif update == "birth":
        row["BIRTHDATE"] = _day(encounters[1]["START"])
    return row


def step_rows(pool: Pool, step: Step, number: int) -> dict[str, list[dict[str, str]]]:
    """The rows of the step's batch, by file (`number` makes the ids of defect rows unique)."""
    out: dict[str, list[dict[str, str]]] = {f: [] for f in FILES}
    for d in step.deliveries:
        pid = pool.active[d.patient % len(pool.active)]
        if d.patient_row or d.update in ("death", "birth"):
            out["patients"].append(_patient_row(pool, pid, d.update))
        encounters = pool.encounters(pid)
        for index in dict.fromkeys(i % len(encounters) for i in d.encounters):
            encounter = encounters[index]
            out["encounters"].append(_updated(encounter, "encounters", d.update))
            for name, rows in pool.events(encounter["Id"]).items():
                out[name] += [_updated(r, name, d.update) for r in rows]
    for m in step.moves:
        source = pool.active[m.source % len(pool.active)]
        target = pool.active[m.target % len(pool.active)]
        if target == source:
            target = pool.active[(m.target + 1) % len(pool.active)]
        encounters = pool.encounters(source)
        encounter = encounters[m.encounter % len(encounters)]
        out["encounters"].append({**encounter, "PATIENT": target})
        for name, rows in pool.events(encounter["Id"]).items():
            out[name] += [{**r, "PATIENT": target} for r in rows]
    for n, defect in enumerate(step.defects):
        out_name, row = _defect_row(pool, defect, f"{number}-{n}")
        out[out_name].append(row)
    return out


def _defect_row(pool: Pool, defect: Defect, tag: str) -> tuple[str, dict[str, str]]:
    pid = pool.active[defect.patient % len(pool.active)]
    first = {
        f: next(r for r in pool.rows[f] if r["PATIENT"] == pid) for f in ("encounters", "conditions", "observations")
    }
    if defect.kind == "bad_birth_date":
        return "patients", {**pool.patient(pid), "BIRTHDATE": "1970-02-30"}
    if defect.kind == "bad_event_date":
        return "conditions", {**first["conditions"], "START": "2023-13-01"}
    if defect.kind == "orphan_patient":
        return "encounters", {**first["encounters"], "Id": f"orphan-encounter-{tag}", "PATIENT": f"nobody-{tag}"}
    if defect.kind == "orphan_encounter":
        return "observations", {**first["observations"], "ENCOUNTER": f"no-such-encounter-{tag}"}
    if defect.kind == "missing_field":
        return "conditions", {**first["conditions"], "CODE": ""}
    raise ValueError(f"unknown defect {defect.kind!r}")


def write_batch(pool: Pool, rows: dict[str, list[dict[str, str]]], folder: Path) -> Path:
    """Every file of the layout, in the generator's columns (a file with no rows keeps its header)."""
    folder.mkdir(parents=True)
    for name in FILES:
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=pool.headers[name], lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows[name])
    return folder


# --- batch ids ----------------------------------------------------------------------------------------------------


@dataclass
class BatchIds:
    """The ids used so far: the base, then one month per `next` batch (day 15); an out-of-order batch takes a day
    before the 15th of an earlier month."""

    used: list[str] = field(default_factory=lambda: [BASE_ID])
    months: int = 1
    early: int = 0

    def resolve(self, step: Step) -> tuple[str, bool]:
        """(batch id, whether the run needs --allow-out-of-order)."""
        if step.kind == "redeliver":
            return self.used[step.target % len(self.used)], False
        if step.kind == "out_of_order":
            self.early += 1
            month = 1 + step.target % self.months
            batch_id = (date(2026, month, 15) - timedelta(days=self.early)).isoformat()
            self.used.append(batch_id)
            return batch_id, True
        self.months += 1
        batch_id = date(2026, self.months, 15).isoformat()
        self.used.append(batch_id)
        return batch_id, False


# --- running and comparing ----------------------------------------------------------------------------------------


def cli_supports(command: str, option: str) -> bool:
    """Whether `cramp-cohort <command>` takes `option` (the full path's flag lands with the incremental path)."""
    from pipelines.cli import _parser

    parser = _parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return option in commands.choices[command]._option_string_actions


@dataclass
class RunResult:
    batch_id: str
    exit_code: int | None
    signal: int | None
    processing_path: str | None
    processing_reason: str | None


class Warehouse:
    """One warehouse folder (DuckDB file, runs, reports, snapshot) fed by the CLI; `full` adds --full to every
    run (when the CLI has it: before the incremental path every run is full anyway)."""

    def __init__(self, folder: Path, forker: CliForker, full: bool) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.settings = settings_under(folder)
        self.forker = forker
        self.full = full
        self.env = cli_env(self.settings, CRAMP_COHORT_MAX_QUARANTINE_SHARE=MAX_QUARANTINE_SHARE)

    @property
    def db(self) -> Path:
        return self.settings.db_path

    def run(self, folder: Path, batch_id: str, allow_out_of_order: bool = False) -> RunResult:
        argv = ["run", "--input", str(folder), "--batch-id", batch_id]
        if allow_out_of_order:
            argv.append("--allow-out-of-order")
        if self.full and cli_supports("run", "--full"):
            argv.append("--full")
        signal, code = self.forker.run(argv, self.env, self.folder / "cli.log")
        summary = self.last_summary()
        return RunResult(batch_id, code, signal, summary.get("processing_path"), summary.get("processing_reason"))

    def last_summary(self) -> dict:
        runs = sorted(self.settings.runs_dir.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
        return json.loads(runs[-1].read_text()) if runs else {}

    def log_tail(self, chars: int = 3000) -> str:
        log = self.folder / "cli.log"
        return log.read_text(errors="replace")[-chars:] if log.exists() else ""


def prepare_base(root: Path, forker: CliForker) -> tuple[Pool, Path]:
    """The pool and a warehouse folder holding the base batch, run with --full."""
    pool = make_pool(root / "pool")
    key = root / "hmac.key"
    key.write_text(TEST_KEY)
    key.chmod(0o600)
    folder = write_batch(pool, base_rows(pool), root / "batches" / "base")
    base = Warehouse(root / "base", forker, full=True)
    result = base.run(folder, BASE_ID)
    assert result.exit_code == 0, base.log_tail()
    return pool, base.folder


@dataclass
class Pair:
    """Warehouse A (the default path) and B (--full), both copies of the base warehouse, fed the same batches."""

    root: Path
    pool: Pool
    a: Warehouse
    b: Warehouse
    ids: BatchIds = field(default_factory=BatchIds)
    history: list[tuple[RunResult, RunResult]] = field(default_factory=list)

    @classmethod
    def from_base(cls, base: Path, root: Path, pool: Pool, forker: CliForker) -> Pair:
        root.mkdir(parents=True)
        shutil.copy2(base.parent / "hmac.key", root / "hmac.key")
        copy_warehouse(base, root / "a")
        copy_warehouse(base, root / "b")
        return cls(root, pool, Warehouse(root / "a", forker, full=False), Warehouse(root / "b", forker, full=True))

    def run_step(self, step: Step) -> tuple[RunResult, RunResult]:
        batch_id, out_of_order = self.ids.resolve(step)
        number = len(self.history) + 1
        rows = step_rows(self.pool, step, number)
        folder = write_batch(self.pool, rows, self.root / "batches" / f"{number}_{batch_id}")
        return self.run_folder(folder, batch_id, out_of_order)

    def run_folder(self, folder: Path, batch_id: str, out_of_order: bool = False) -> tuple[RunResult, RunResult]:
        results = self.a.run(folder, batch_id, out_of_order), self.b.run(folder, batch_id, out_of_order)
        self.history.append(results)
        return results

    def describe(self) -> str:
        return "; ".join(
            f"{a.batch_id}: A exit {a.exit_code} {a.processing_path or '-'}, B exit {b.exit_code} "
            f"{b.processing_path or '-'}"
            for a, b in self.history
        )


def compared_fingerprint(db: Path) -> dict:
    prints = fingerprint(db)
    return {
        name: fp for name, fp in prints.items() if name.split(".")[0] in COMPARED_SCHEMAS or name in COMPARED_DQ_TABLES
    }


def output_differences(a: Path, b: Path, rows_per_table: int = 3) -> list[str]:
    """One line per compared table that differs between the two warehouses, with a few differing rows."""
    lines: list[str] = []
    for problem in differences(compared_fingerprint(b), compared_fingerprint(a)):
        lines.append(f"B (full) -> A (default): {problem}")
        table = problem.split(":")[0]
        if "contents" in problem or " rows -> " in problem:
            lines += ["    " + r for r in row_differences(a, b, table, rows_per_table)]
    return lines


def unbalanced_reconciliation(db: Path) -> list[tuple]:
    """Rows of dq.batch_reconciliation that do not add up (rows and physical lines)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            """
            select batch_id, source_file, rows_read, rows_loaded, rows_quarantined, rows_superseded, rows_held,
                balanced
            from dq.batch_reconciliation
            where not balanced
                or rows_read != rows_loaded + rows_quarantined + rows_superseded + coalesce(rows_held, 0)
                or coalesce(lines_read, rows_read) != rows_read + coalesce(lines_blank, 0)
                    + coalesce(lines_continued, 0)
            order by all
            """
        ).fetchall()


def assert_equivalent(pair: Pair, when: str) -> None:
    """A equals B on every compared table, and dq.batch_reconciliation balances on both."""
    problems = output_differences(pair.a.db, pair.b.db)
    for side in (pair.a, pair.b):
        bad = unbalanced_reconciliation(side.db)
        if bad:
            problems.append(f"{side.folder.name}: dq.batch_reconciliation does not balance: {bad}")
    assert not problems, f"after {when} ({pair.describe()}):\n" + "\n".join(problems)
