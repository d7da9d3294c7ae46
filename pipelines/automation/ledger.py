"""`dq.batch_runs`: the processed-batches ledger of the landing processor (one row per batch run).

Kept by this module rather than read from `raw._batches` because the decision "already processed" depends on
the delivery's fingerprint (a re-delivered folder is processed again) and on the run's outcome.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.automation.summary import RunOutcome

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
    db_path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(db_path), read_only=read_only)


def processed_fingerprints(db_path: Path) -> dict[str, set[str]]:
    """batch id -> fingerprints that ran successfully (an empty mapping for a new warehouse)."""
    if not db_path.exists():
        return {}
    con = _connect(db_path)
    try:
        con.execute(_DDL)
        rows = con.execute("select batch_id, fingerprint from dq.batch_runs where success").fetchall()
    finally:
        con.close()
    out: dict[str, set[str]] = {}
    for batch_id, fingerprint in rows:
        out.setdefault(batch_id, set()).add(fingerprint)
    return out


def known_batches(db_path: Path) -> dict[str, Path]:
    """Every batch the warehouse has seen -> its latest source folder (ledger, then `raw._batches`)."""
    if not db_path.exists():
        return {}
    con = _connect(db_path)
    try:
        con.execute(_DDL)
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
    """Append one ledger row (after the run: the runner has closed its connections by then)."""
    con = _connect(db_path)
    try:
        con.execute(_DDL)
        con.execute(
            "insert into dq.batch_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                outcome.batch_id,
                fingerprint,
                str(source_dir),
                getattr(outcome, "run_id", None),
                bool(outcome.success),
                getattr(outcome, "reason", None),
                str(summary_path) if summary_path else None,
                origin,
                datetime.now(UTC).replace(tzinfo=None),
            ],
        )
    finally:
        con.close()
