"""A batch is all or nothing: its state in `raw._batches` says whether staging may hold its rows.

    loading  -> registered by `landed_batch`; its files are being landed in raw
    loaded   -> every file landed and verified (`batch_loaded`); this run's staging may include it
    accepted -> its blocking checks passed (`accepted_batch`); staging includes it from now on
    rejected -> a file, a check or the run failed, or the run was killed, before acceptance

Staging only ever takes rows of `accepted` batches and of the one `loaded` batch of the running run (one run at
a time holds the warehouse), so a batch that failed halfway can never reach staging, the cohort or the published
snapshot through a later run. What a pending batch changed is undone when it does not get accepted
(`restore_point.py`).
"""

from __future__ import annotations

import duckdb

LOADING, LOADED, ACCEPTED, REJECTED = "loading", "loaded", "accepted", "rejected"
ADMITTED = (ACCEPTED, LOADED)  # the states whose rows staging takes


def begin_batch(
    con: duckdb.DuckDBPyConnection, batch_id: str, source_dir: str, notes: str, run_id: str | None
) -> None:
    """Registers (or re-registers) a batch as `loading`."""
    con.execute(
        """
        insert or replace into raw._batches
            (batch_id, source_dir, registered_at, notes, state, state_reason, state_run_id, state_changed_at)
        values (?, ?, now()::timestamp, ?, ?, null, ?, now()::timestamp)
        """,
        [batch_id, source_dir, notes, LOADING, run_id],
    )


def set_state(con: duckdb.DuckDBPyConnection, batch_id: str, state: str, reason: str | None = None) -> None:
    con.execute(
        "update raw._batches set state = ?, state_reason = ?, state_changed_at = now()::timestamp "
        "where batch_id = ?",
        [state, reason, batch_id],
    )


def batch_state(con: duckdb.DuckDBPyConnection, batch_id: str) -> str | None:
    row = con.execute("select state from raw._batches where batch_id = ?", [batch_id]).fetchone()
    return row[0] if row else None


def pending_batches(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Batches between registration and acceptance (at most one, unless a run was killed)."""
    return [
        r[0]
        for r in con.execute(
            "select batch_id from raw._batches where state in (?, ?) order by batch_id", [LOADING, LOADED]
        ).fetchall()
    ]


def admitted_filter(con: duckdb.DuckDBPyConnection, column: str = "_batch_id") -> str | None:
    """A SQL condition keeping rows of admitted batches only; None when every batch is admitted (no filter)."""
    excluded = con.execute(
        f"select count(*) from raw._batches where state is null or state not in {ADMITTED}"
    ).fetchone()[0]
    if not excluded:
        return None
    return f"{column} in (select batch_id from raw._batches where state in {ADMITTED})"


def admitted_batches(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The batches whose rows staging takes (as `admitted_filter`), as a list: for an engine that cannot read
    `raw._batches` (the Spark engine)."""
    rows = con.execute(f"select batch_id from raw._batches where state in {ADMITTED} order by batch_id").fetchall()
    return [batch_id for (batch_id,) in rows]


def newest_accepted_batch(con: duckdb.DuckDBPyConnection) -> str | None:
    return con.execute("select max(batch_id) from raw._batches where state = ?", [ACCEPTED]).fetchone()[0]


def set_processing_path(con: duckdb.DuckDBPyConnection, batch_id: str, path: str, reason: str) -> None:
    """The path (incremental / full) this run of the batch takes, and why."""
    con.execute(
        "update raw._batches set processing_path = ?, processing_reason = ? where batch_id = ?",
        [path, reason, batch_id],
    )


def processing_path(con: duckdb.DuckDBPyConnection, batch_id: str) -> str | None:
    row = con.execute("select processing_path from raw._batches where batch_id = ?", [batch_id]).fetchone()
    return row[0] if row else None
