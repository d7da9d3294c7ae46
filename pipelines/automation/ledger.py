"""`dq.batch_runs`: the processed-batches ledger of the landing processor (one row per batch run).

Kept by this module rather than read from `raw._batches` because the decision "already processed" depends on
the delivery's fingerprint (a re-delivered folder is processed again) and on the run's outcome. A batch counts
as processed only while the warehouse also holds it as accepted: a batch whose later re-run was killed or
rejected is run again.

When the warehouse cannot be opened (another program holds it), the row waits in `<warehouse>.ledger-pending`
(JSON lines) and is written by the next run that opens the warehouse.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.automation.summary import RunOutcome, reason_text
from pipelines.warehouse_lock import busy_from_duckdb

_DDL = """
create schema if not exists dq;
create table if not exists dq.batch_runs (
    batch_id varchar not null,
    fingerprint varchar,
    source_dir varchar,
    run_id varchar,
    success boolean not null,
    reason varchar,
    summary_path varchar,
    origin varchar,
    processed_at timestamp not null
);
"""


def _connect(db_path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Opens the warehouse; WarehouseBusy (one line) when another program holds it."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(db_path), read_only=read_only)
    except duckdb.Error as exc:
        busy = busy_from_duckdb(exc, db_path)
        if busy is None:
            raise
        raise busy from exc
    if not read_only:
        con.execute(_DDL)
        _write_pending(con, db_path)
    return con


def pending_path(db_path: Path) -> Path:
    return Path(f"{db_path}.ledger-pending")


def processed_fingerprints(db_path: Path) -> dict[str, set[str]]:
    """batch id -> fingerprints that ran successfully and whose batch is still accepted (empty for a new
    warehouse)."""
    if not db_path.exists():
        return {}
    con = _connect(db_path)
    try:
        has_states = con.execute(
            "select count(*) from duckdb_columns() where schema_name = 'raw' and table_name = '_batches' "
            "and column_name = 'state' and database_name = current_database()"
        ).fetchone()[0]
        accepted = (
            "and batch_id not in (select batch_id from raw._batches where state is distinct from 'accepted')"
            if has_states
            else ""
        )
        rows = con.execute(f"select batch_id, fingerprint from dq.batch_runs where success {accepted}").fetchall()
    finally:
        con.close()
    out: dict[str, set[str]] = {}
    for batch_id, fingerprint in rows:
        out.setdefault(batch_id, set()).add(fingerprint)
    return out


def unaccepted_batches(db_path: Path) -> set[str]:
    """Batches the warehouse holds as not accepted (rejected, or left pending by a killed run); empty when the
    warehouse is missing or busy (the caller tries again later)."""
    if not db_path.exists():
        return set()
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error:
        return set()
    try:
        return {
            r[0]
            for r in con.execute(
                "select batch_id from raw._batches where state is distinct from 'accepted'"
            ).fetchall()
        }
    except duckdb.Error:  # no registry (or no states) yet
        return set()
    finally:
        con.close()


def known_batches(db_path: Path) -> dict[str, Path]:
    """Every batch the warehouse has seen -> its latest source folder (ledger, then `raw._batches`)."""
    if not db_path.exists():
        return {}
    con = _connect(db_path)
    try:
        found = dict(
            con.execute(
                "select batch_id, arg_max(source_dir, processed_at) from dq.batch_runs group by batch_id"
            ).fetchall()
        )
        has_registry = con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'raw' and table_name = '_batches'"
        ).fetchone()[0]
        if has_registry:
            for batch_id, source_dir in con.execute("select batch_id, source_dir from raw._batches").fetchall():
                found.setdefault(batch_id, source_dir)
    finally:
        con.close()
    return {batch_id: Path(source) for batch_id, source in found.items() if source}


def record_run(
    db_path: Path,
    outcome: RunOutcome,
    *,
    fingerprint: str | None,
    source_dir: Path,
    summary_path: Path | None,
    origin: str,
) -> None:
    """Append one ledger row (after the run: the runner has closed its connections by then). When the warehouse
    is held by another program, the row waits in the pending file for the next run."""
    row = [
        outcome.batch_id,
        fingerprint,
        str(source_dir),
        getattr(outcome, "run_id", None),
        bool(outcome.success),
        reason_text(outcome) or None,
        str(summary_path) if summary_path else None,
        origin,
        datetime.now(UTC).replace(tzinfo=None).isoformat(),
    ]
    try:
        con = _connect(db_path)
    except Exception:  # noqa: BLE001 - busy or unreadable: keep the row for later, never lose it
        with pending_path(db_path).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        return
    try:
        con.execute("insert into dq.batch_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?::timestamp)", row)
    finally:
        con.close()


def _write_pending(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    """Ledger rows that could not be written while another program held the warehouse."""
    path = pending_path(db_path)
    if not path.exists():
        return
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if rows:  # a pending file cut before its first line holds nothing to write
        con.executemany("insert into dq.batch_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?::timestamp)", rows)
    path.unlink()
