"""`dq.batch_runs`: the ledger of batch runs, one row per run, written by whichever path ran the batch.

The CLI loop (`cramp-cohort run`, `reprocess`) and the Dagster run-status sensors both write a row after every
batch run (`after_run.py`), and `run --landing`, the landing sensor and the daily schedule all read it: a delivery
(batch id + fingerprint) that ran successfully is not run again, whichever path ran it, so the CLI and the daemon
can share a warehouse. A batch counts as processed only while the warehouse also holds it as accepted: a batch
whose later re-run was killed or rejected is run again.

When the warehouse cannot be opened (another program holds it), the row waits in `<warehouse>.ledger-pending`
(JSON lines) and is written by the next run that opens the warehouse; readers count the waiting rows too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.operations.outcome import BatchOutcome
from pipelines.warehouse import Warehouse, ensure_bookkeeping, table_columns, table_exists

LEDGER = "dq.batch_runs"


def pending_path(db_path: Path) -> Path:
    return Path(f"{db_path}.ledger-pending")


def _open(db_path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """The warehouse (WarehouseBusy when another program holds it); writable: with the ledger, waiting rows in."""
    con = Warehouse(db_path).connect(read_only=read_only)
    if not read_only:
        ensure_bookkeeping(con, ("dq.batch_runs",))
        _write_pending(con, db_path)
    return con


def processed_fingerprints(db_path: Path, read_only: bool = False) -> dict[str, set[str]]:
    """batch id -> fingerprints that ran successfully and whose batch is still accepted (empty for a new
    warehouse). Raises WarehouseBusy when another program holds the warehouse."""
    if not db_path.exists():
        return {}
    con = _open(db_path, read_only)
    try:
        rows = _successful_runs(con)
    finally:
        con.close()
    rows += [(r[0], r[1]) for r in _pending_rows(db_path) if r[4]]  # rows still waiting to be written
    out: dict[str, set[str]] = {}
    for batch_id, fingerprint in rows:
        out.setdefault(batch_id, set()).add(fingerprint)
    return out


def _successful_runs(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    if not table_exists(con, LEDGER):
        return []
    has_states = table_exists(con, "raw._batches") and "state" in table_columns(con, "raw._batches")
    accepted = (
        "and batch_id not in (select batch_id from raw._batches where state is distinct from 'accepted')"
        if has_states
        else ""
    )
    return con.execute(f"select batch_id, fingerprint from {LEDGER} where success {accepted}").fetchall()


def unaccepted_batches(db_path: Path) -> set[str]:
    """Batches the warehouse holds as not accepted (rejected, or left pending by a killed run); empty when the
    warehouse is missing or busy (the caller tries again later)."""
    if not db_path.exists():
        return set()
    try:
        con = Warehouse(db_path).connect(read_only=True)
    except Exception:  # busy or unreadable: nothing known now
        return set()
    try:
        if not table_exists(con, "raw._batches"):
            return set()
        return {
            r[0]
            for r in con.execute("select batch_id from raw._batches where state is distinct from 'accepted'").fetchall()
        }
    finally:
        con.close()


def known_batches(db_path: Path) -> dict[str, Path]:
    """Every batch the warehouse has seen -> its latest source folder (ledger, then `raw._batches`)."""
    if not db_path.exists():
        return {}
    con = _open(db_path, read_only=False)
    try:
        found = dict(
            con.execute(
                f"select batch_id, arg_max(source_dir, processed_at) from {LEDGER} group by batch_id"
            ).fetchall()
        )
        if table_exists(con, "raw._batches"):
            for batch_id, source_dir in con.execute("select batch_id, source_dir from raw._batches").fetchall():
                found.setdefault(batch_id, source_dir)
    finally:
        con.close()
    return {batch_id: Path(source) for batch_id, source in found.items() if source}


def record_run(
    db_path: Path,
    outcome: BatchOutcome,
    *,
    fingerprint: str | None,
    source_dir: Path | str | None,
    summary_path: Path | None,
    origin: str,
) -> None:
    """Appends one ledger row (after the run: its connections are closed by then). When the warehouse is held
    by another program, the row waits in the pending file for the next run."""
    row = [
        outcome.batch_id,
        fingerprint,
        str(source_dir) if source_dir else None,
        outcome.run_id,
        bool(outcome.success),
        outcome.reason_line or None,
        str(summary_path) if summary_path else None,
        origin,
        datetime.now(UTC).replace(tzinfo=None).isoformat(),
    ]
    try:
        con = _open(db_path, read_only=False)
    except Exception:  # busy or unreadable: keep the row for later, never lose it
        with pending_path(db_path).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        return
    try:
        con.execute(f"insert into {LEDGER} values (?, ?, ?, ?, ?, ?, ?, ?, ?::timestamp)", row)
    finally:
        con.close()


def _pending_rows(db_path: Path) -> list[list]:
    path = pending_path(db_path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write_pending(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    """Ledger rows that could not be written while another program held the warehouse."""
    rows = _pending_rows(db_path)
    if rows:
        con.executemany(f"insert into {LEDGER} values (?, ?, ?, ?, ?, ?, ?, ?, ?::timestamp)", rows)
    pending_path(db_path).unlink(missing_ok=True)
