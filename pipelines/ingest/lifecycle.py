"""A batch from delivery to acceptance, as plain steps over a warehouse connection (the Dagster assets call them).

A batch is all or nothing (batch_state.py): `register_batch` opens its restore point and marks it `loading`;
`land_file` lands each of its files in raw; `build_staging` first admits it as `loaded` once every file landed in
this run, then rebuilds a staging table with it; `accept_batch` accepts it once staging's blocking checks passed.
Anything failing on the way raises `BatchError` (a one-line reason with its code) and the pending batch is rolled
back to the last accepted state (`reject_pending`), so its rows never reach the cohort, the marts or a later run.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.contract.scope import ALL_PATIENTS, Scope
from pipelines.contract.synthea import LAYOUTS
from pipelines.ingest.affected import add_to_scope, forget_scope
from pipelines.ingest.batch import BatchError, FileHeader
from pipelines.ingest.batch_state import (
    ACCEPTED,
    LOADED,
    LOADING,
    REJECTED,
    batch_state,
    begin_batch,
    newest_accepted_batch,
    pending_batches,
    set_processing_path,
    set_state,
)
from pipelines.ingest.raw_load import RawLoadResult, inbox_dir, load_raw_file
from pipelines.ingest.raw_views import BATCH_SCHEMA, ensure_raw_view
from pipelines.ingest.reconciliation import record_batch_state
from pipelines.ingest.restore_point import ACCEPTED_SUFFIX, discard, open_batch, opened_batch, roll_back
from pipelines.ingest.staging_build import StagingResult, build_staging_table, prepare_staging
from pipelines.ingest.staging_rules import RowRule
from pipelines.ingest.staging_scope import future_date_patients_query
from pipelines.warehouse import ensure_bookkeeping, quote_ident, transaction

if TYPE_CHECKING:
    from pipelines.warehouse.spark_tables import SparkTables

INTERRUPTED = "interrupted: the run stopped before the batch was accepted"


def allowed_root(source_dir: Path, landing_dir: Path, allow_external_symlinks: bool) -> Path | None:
    """Where a batch's files may lead: the landing folder for a landing batch, else the batch folder itself
    (None: anywhere)."""
    if allow_external_symlinks:
        return None
    inside = landing_dir.is_dir() and source_dir.resolve().is_relative_to(landing_dir.resolve())
    return landing_dir if inside else source_dir


def registered_source_dir(con: duckdb.DuckDBPyConnection, batch_id: str) -> Path | None:
    """The folder the batch was last registered from, if any."""
    ensure_bookkeeping(con, ("raw._batches",))
    row = con.execute("select source_dir from raw._batches where batch_id = ?", [batch_id]).fetchone()
    return Path(row[0]) if row else None


def register_batch(
    con: duckdb.DuckDBPyConnection,
    batch_id: str,
    source_dir: Path,
    notes: tuple[str, ...],
    run_id: str | None,
    allow_out_of_order: bool = False,
) -> None:
    """Undoes what an interrupted run left, then registers the batch as `loading` with its restore point open.
    A new batch whose id sorts before an accepted one is refused unless `allow_out_of_order`."""
    ensure_bookkeeping(con)
    recover_interrupted(con)
    newest = newest_accepted_batch(con)
    if batch_state(con, batch_id) is None and newest is not None and batch_id < newest and not allow_out_of_order:
        raise BatchError(
            f"batch {batch_id} sorts before batch {newest}, already loaded: its rows would lose to older data "
            "(re-run with --allow-out-of-order if this is intended)",
            "out_of_order",
        )
    with transaction(con):
        open_batch(con, batch_id)
        begin_batch(con, batch_id, str(source_dir.resolve()), "\n".join(notes), run_id)


def start_scope(con: duckdb.DuckDBPyConnection, batch_id: str, path: str, reason: str) -> None:
    """Records the run's path (incremental / full) on the registered batch and empties its patient scope (the
    raw loads of an incremental run fill it, ingest/affected.py)."""
    set_processing_path(con, batch_id, path, reason)
    forget_scope(con, batch_id)


def land_file(
    con: duckdb.DuckDBPyConnection, batch_id: str, file: FileHeader, scope: Scope = ALL_PATIENTS
) -> RawLoadResult:
    """One file of the batch in raw (an absent optional file lands as no rows); for an incremental run, the
    patients its delivery (and the one it replaces) can change join the batch's scope first."""
    ensure_bookkeeping(con)
    return load_raw_file(con, batch_id, file, record_scope=not scope.is_full)


def build_staging(
    con: duckdb.DuckDBPyConnection,
    name: str,
    batch_id: str | None,
    max_quarantine_share: float,
    rules: tuple[RowRule, ...] = (),
    scope: Scope = ALL_PATIENTS,
    spark_tables: SparkTables | None = None,
    run_id: str = "",
) -> StagingResult:
    """staging.<name> over the accepted batches and this run's batch (admitted first, when there is one); with a
    batch's scope, only its patients' rows are rebuilt (the patients table's build, the first, adds the patients
    with a row quarantined for a future date: that date may have come)."""
    ensure_bookkeeping(con)
    if batch_id:
        admit_loaded_batch(con, batch_id, max_quarantine_share)
    prepare_staging(con)
    for layout_name in ("patients", "encounters", name):
        ensure_raw_view(con, LAYOUTS[layout_name])
    if not scope.is_full and name == "patients":
        add_to_scope(con, scope.batch_id, future_date_patients_query())
    return build_staging_table(con, name, rules, scope=scope, spark_tables=spark_tables, run_id=run_id)


def admit_loaded_batch(con: duckdb.DuckDBPyConnection, batch_id: str, max_quarantine_share: float) -> None:
    """`loading` -> `loaded` once every file of the batch has landed in this run (idempotent afterwards); a batch
    rejected earlier in the run, or one whose parse quarantine is over the limit, fails here."""
    state = batch_state(con, batch_id)
    if state == LOADED:
        return
    if state != LOADING:
        raise BatchError(
            f"batch {batch_id} is {state or 'not registered'}: staging keeps the accepted batches only",
            "rejected_earlier" if state == REJECTED else "not_loaded",
        )
    registered_at = con.execute("select registered_at from raw._batches where batch_id = ?", [batch_id]).fetchone()[0]
    landed = dict(
        con.execute(
            "select source_file, loaded_at >= ? from raw._landed_files where batch_id = ?", [registered_at, batch_id]
        ).fetchall()
    )
    stale = sorted(name for name, fresh in landed.items() if not fresh)
    if stale:
        raise BatchError(f"batch {batch_id}: {', '.join(stale)} not landed by this run", "not_loaded")
    _check_quarantine_share(
        con,
        batch_id,
        "select source_file, rows_landed + rows_rejected, rows_rejected from raw._landed_files where batch_id = ?",
        max_quarantine_share,
        rows_kept_sql=None,
    )
    set_state(con, batch_id, LOADED)


def accept_batch(con: duckdb.DuckDBPyConnection, batch_id: str, max_quarantine_share: float) -> tuple[int, int, int]:
    """`loaded` -> `accepted` (staging's blocking checks passed) unless too many rows of a file, or every row, went
    to quarantine; the restore point goes. Returns the batch's rows read, loaded and quarantined."""
    state = batch_state(con, batch_id)
    if state != LOADED:
        raise BatchError(f"batch {batch_id} is {state or 'not registered'}, not loaded", "not_loaded")
    _check_quarantine_share(
        con,
        batch_id,
        "select source_file, rows_read, rows_quarantined from dq.batch_reconciliation where batch_id = ?",
        max_quarantine_share,
        rows_kept_sql="select sum(rows_read), sum(rows_loaded + rows_superseded) from dq.batch_reconciliation "
        "where batch_id = ?",
    )
    with transaction(con):
        set_state(con, batch_id, ACCEPTED)
        record_batch_state(con, batch_id, ACCEPTED)
        discard(con)
    read, loaded, quarantined = con.execute(
        "select sum(rows_read), sum(rows_loaded), sum(rows_quarantined) from dq.batch_reconciliation "
        "where batch_id = ?",
        [batch_id],
    ).fetchone()
    return int(read or 0), int(loaded or 0), int(quarantined or 0)


def reject_pending(con: duckdb.DuckDBPyConnection, reason: str) -> str | None:
    """Rolls the warehouse back to the last accepted state and records why on the pending batch (None: no batch
    was pending)."""
    if opened_batch(con) is None:
        return None
    return roll_back(con, reason)


def recover_interrupted(con: duckdb.DuckDBPyConnection) -> None:
    """Undoes what a killed or failed run left: its open restore point, a batch stuck between registration and
    acceptance, half-written tables and copies of delivered files."""
    ensure_bookkeeping(con)
    roll_back(con, INTERRUPTED)
    for stuck in pending_batches(con):
        set_state(con, stuck, REJECTED, INTERRUPTED)
    for schema, suffix in (
        (BATCH_SCHEMA, "__next"),
        ("staging", "__next"),
        (BATCH_SCHEMA, ACCEPTED_SUFFIX),
        ("staging", ACCEPTED_SUFFIX),
    ):
        for (table,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = ? and table_name like ? escape '\\' "
            "and database_name = current_database()",
            [schema, "%" + suffix.replace("_", "\\_")],
        ).fetchall():
            con.execute(f"drop table if exists {schema}.{quote_ident(table)}")
    shutil.rmtree(inbox_dir(con), ignore_errors=True)


def _check_quarantine_share(
    con: duckdb.DuckDBPyConnection, batch_id: str, counts_sql: str, limit: float, rows_kept_sql: str | None
) -> None:
    """Rejects the batch (rolling back) when one file's quarantined share is over `limit`, or when rows were
    delivered and every one of them was quarantined."""
    order = {layout.file_name: i for i, layout in enumerate(LAYOUTS.values())}
    counts = sorted(con.execute(counts_sql, [batch_id]).fetchall(), key=lambda row: order.get(row[0], 99))
    over = [f"{f}: {q} of {r} rows quarantined ({100 * q / r:.0f}%)" for f, r, q in counts if r and q / r > limit]
    problem, code = None, None
    if over:
        problem = f"{'; '.join(over)}: more than the {100 * limit:g}% allowed (setting max_quarantine_share)"
        code = "quarantine_threshold"
    elif rows_kept_sql is not None:
        delivered, kept = con.execute(rows_kept_sql, [batch_id]).fetchone()
        if delivered and not kept:
            problem, code = f"batch {batch_id}: all {delivered} rows delivered were quarantined", "all_rows_quarantined"
    if problem:
        roll_back(con, f"{code}: {problem}")
        raise BatchError(problem, code)
