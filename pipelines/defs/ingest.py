"""Ingest assets: the landed batch, raw_<file> per batch partition, staging_<file> over all admitted batches, and
the batch's acceptance once staging's blocking checks have passed.

A batch is all or nothing (pipelines/ingest/batch_state.py): `landed_batch` registers it as `loading`; the first
staging step admits it as `loaded` once every file of it has landed in this run; `accepted_batch` accepts it after
the blocking checks. Anything failing on the way rejects it and rolls the warehouse back to the last accepted
state (pipelines/ingest/restore_point.py), so its rows never reach the cohort, the marts or a later run.
"""

from pathlib import Path

import dagster as dg
import duckdb

from pipelines.batch_ids import unsafe_batch_id
from pipelines.ingest.batch import BatchError, inspect_batch
from pipelines.ingest.batch_state import (
    ACCEPTED,
    LOADED,
    LOADING,
    REJECTED,
    batch_state,
    begin_batch,
    newest_accepted_batch,
    pending_batches,
    set_state,
)
from pipelines.ingest.layout import LAYOUTS
from pipelines.ingest.raw_load import inbox_dir, load_raw_file
from pipelines.ingest.raw_views import BATCH_SCHEMA, ensure_raw_view
from pipelines.ingest.restore_point import ACCEPTED_SUFFIX, SCHEMA, discard, open_batch, opened_batch, roll_back
from pipelines.ingest.staging_build import EVENT_TABLES, build_staging_table, prepare_staging
from pipelines.ingest.storage import ensure_schemas
from pipelines.partitions import ALLOW_OUT_OF_ORDER_TAG, SOURCE_DIR_TAG, batch_partitions
from pipelines.resources import DuckDBWarehouse, PipelinePaths
from pipelines.sql_runner import quote_ident, table_exists, transaction

PARTITION_TAG = "dagster/partition"
INTERRUPTED = "interrupted: the run stopped before the batch was accepted"


def batch_failure(message: str, code: str) -> dg.Failure:
    """A one-line failure whose reason code travels to the batch line, run summary, ledger and hook."""
    return dg.Failure(description=message, metadata={"reason_code": code}, allow_retries=False)


def batch_source_dir(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, paths: PipelinePaths) -> Path:
    """The folder of this run's batch: the run tag, else the registry, else <landing>/<batch id>."""
    tagged = context.run.tags.get(SOURCE_DIR_TAG)
    if tagged:
        return Path(tagged)
    with warehouse.connect() as con:
        ensure_schemas(con)
        row = con.execute(
            "select source_dir from raw._batches where batch_id = ?", [context.partition_key]
        ).fetchone()
    return Path(row[0]) if row else Path(paths.landing_dir) / context.partition_key


def allowed_root(source_dir: Path, paths: PipelinePaths) -> Path | None:
    """Where a batch's files may lead: the landing folder for a landing batch, else the batch folder itself."""
    if paths.allow_external_symlinks:
        return None
    landing = Path(paths.landing_dir)
    return landing if landing.is_dir() and source_dir.resolve().is_relative_to(landing.resolve()) else source_dir


def recover_interrupted(con: duckdb.DuckDBPyConnection) -> None:
    """Undoes what a killed or failed run left: its open restore point, a batch stuck between registration and
    acceptance, half-written tables and copies of delivered files."""
    roll_back(con, INTERRUPTED)
    for stuck in pending_batches(con):
        set_state(con, stuck, REJECTED, INTERRUPTED)
    for schema, suffix in ((BATCH_SCHEMA, "__next"), ("staging", "__next"), (BATCH_SCHEMA, ACCEPTED_SUFFIX),
                           ("staging", ACCEPTED_SUFFIX)):
        for (table,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = ? and table_name like ? escape '\\' "
            "and database_name = current_database()",
            [schema, "%" + suffix.replace("_", "\\_")],
        ).fetchall():
            con.execute(f"drop table if exists {schema}.{quote_ident(table)}")
    _remove_tree(inbox_dir(con))


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


@dg.asset(partitions_def=batch_partitions, group_name="ingest", kinds={"duckdb"})
def landed_batch(
    context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, paths: PipelinePaths
) -> dg.MaterializeResult:
    """One row per batch in raw._batches: the folder passed its file and header checks; the batch is `loading`."""
    batch_id = context.partition_key
    problem = unsafe_batch_id(batch_id)
    if problem:
        raise batch_failure(problem, "invalid_batch_id")
    source_dir = batch_source_dir(context, warehouse, paths)
    try:
        inspection = inspect_batch(source_dir, batch_id, allowed_root(source_dir, paths))
    except BatchError as exc:
        raise batch_failure(str(exc), exc.code) from exc
    for note in inspection.notes:
        context.log.info(note)
    with warehouse.connect() as con:
        ensure_schemas(con)
        recover_interrupted(con)
        newest = newest_accepted_batch(con)
        out_of_order = batch_state(con, batch_id) is None and newest is not None and batch_id < newest
        if out_of_order and context.run.tags.get(ALLOW_OUT_OF_ORDER_TAG) != "true":
            raise batch_failure(
                f"batch {batch_id} sorts before batch {newest}, already loaded: its rows would lose to older data "
                "(re-run with --allow-out-of-order if this is intended)",
                "out_of_order",
            )
        with transaction(con):
            open_batch(con, batch_id)
            begin_batch(con, batch_id, str(source_dir.resolve()), "\n".join(inspection.notes), context.run.run_id)
    return dg.MaterializeResult(
        metadata={
            "source_dir": str(source_dir),
            "notes": dg.MetadataValue.md("\n".join(inspection.notes) or "-"),
            "unknown_files": ", ".join(inspection.unknown_files),
        }
    )


def _raw_asset(name: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"raw_{name}",
        partitions_def=batch_partitions,
        deps=[landed_batch],
        group_name="ingest",
        kinds={"duckdb"},
        description=f"One row per landed row of {name}.csv, all text, per batch (raw.{name}).",
    )
    def raw_file(
        context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, paths: PipelinePaths
    ) -> dg.MaterializeResult:
        batch_id = context.partition_key
        source_dir = batch_source_dir(context, warehouse, paths)
        try:
            inspection = inspect_batch(source_dir, batch_id, allowed_root(source_dir, paths))
            with warehouse.connect() as con:
                ensure_schemas(con)
                result = load_raw_file(con, batch_id, inspection.files[name])
        except BatchError as exc:
            raise batch_failure(str(exc), exc.code) from exc
        if inspection.files[name].path is None:
            context.log.info(f"{name}.csv absent in batch {batch_id}: no rows (optional file)")
        return dg.MaterializeResult(
            metadata={"rows_loaded": result.rows_loaded, "rows_rejected": result.rows_rejected}
        )

    return raw_file


def admit_loaded_batch(con: duckdb.DuckDBPyConnection, batch_id: str, max_quarantine_share: float) -> None:
    """`loading` -> `loaded` once every file of the batch has landed in this run (idempotent afterwards); a batch
    rejected earlier in the run, or one whose parse quarantine is over the limit, fails here."""
    state = batch_state(con, batch_id)
    if state == LOADED:
        return
    if state != LOADING:
        raise batch_failure(
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
        raise batch_failure(f"batch {batch_id}: {', '.join(stale)} not landed by this run", "not_loaded")
    _check_quarantine_share(
        con,
        batch_id,
        "select source_file, rows_landed + rows_rejected, rows_rejected from raw._landed_files where batch_id = ?",
        max_quarantine_share,
        rows_kept_sql=None,
    )
    set_state(con, batch_id, LOADED)


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
        raise batch_failure(problem, code)


def _staging_asset(name: str) -> dg.AssetsDefinition:
    # Every raw file of the batch first: staging never sees part of a batch.
    upstream = [dg.AssetKey(f"raw_{raw}") for raw in LAYOUTS]
    if name == "encounters":
        upstream.append(dg.AssetKey("staging_patients"))
    if name in EVENT_TABLES:
        upstream += [dg.AssetKey("staging_patients"), dg.AssetKey("staging_encounters")]

    @dg.asset(
        name=f"staging_{name}",
        deps=upstream,
        group_name="staging",
        kinds={"duckdb"},
        description=f"One current row per natural key of {name}, typed, newest batch wins (staging.{name}).",
    )
    def staging_file(
        context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, paths: PipelinePaths
    ) -> dg.MaterializeResult:
        batch_id = context.run.tags.get(PARTITION_TAG)
        with warehouse.connect() as con:
            ensure_schemas(con)
            if batch_id:
                admit_loaded_batch(con, batch_id, paths.max_quarantine_share)
            prepare_staging(con, paths.code_system_map)
            for layout_name in ("patients", "encounters", name):
                ensure_raw_view(con, LAYOUTS[layout_name])
            result = build_staging_table(con, name)
        return dg.MaterializeResult(
            metadata={
                "rows": result.rows_staged,
                "rows_quarantined": result.rows_quarantined,
                "rows_superseded": result.rows_superseded,
            }
        )

    return staging_file


raw_assets = [_raw_asset(name) for name in LAYOUTS]
staging_assets = [_staging_asset(name) for name in LAYOUTS]


@dg.asset(
    partitions_def=batch_partitions,
    deps=[asset.key for asset in staging_assets],
    group_name="ingest",
    kinds={"duckdb"},
)
def accepted_batch(
    context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, paths: PipelinePaths
) -> dg.MaterializeResult:
    """The batch is accepted: every file landed, staging's blocking checks passed (a failing one skips this step),
    and no file lost more than `max_quarantine_share` of its rows to quarantine. From now on staging includes it."""
    batch_id = context.partition_key
    with warehouse.connect() as con:
        state = batch_state(con, batch_id)
        if state != LOADED:
            raise batch_failure(f"batch {batch_id} is {state or 'not registered'}, not loaded", "not_loaded")
        _check_quarantine_share(
            con,
            batch_id,
            "select source_file, rows_read, rows_quarantined from dq.batch_reconciliation where batch_id = ?",
            paths.max_quarantine_share,
            rows_kept_sql="select sum(rows_read), sum(rows_loaded + rows_superseded) from dq.batch_reconciliation "
            "where batch_id = ?",
        )
        with transaction(con):
            set_state(con, batch_id, ACCEPTED)
            con.execute("update dq.batch_reconciliation set batch_state = ? where batch_id = ?", [ACCEPTED, batch_id])
            discard(con)
        counts = con.execute(
            "select sum(rows_read), sum(rows_loaded), sum(rows_quarantined) from dq.batch_reconciliation "
            "where batch_id = ?",
            [batch_id],
        ).fetchone()
    return dg.MaterializeResult(
        metadata={"rows_read": int(counts[0] or 0), "rows_loaded": int(counts[1] or 0),
                  "rows_quarantined": int(counts[2] or 0)}
    )


# Steps before acceptance: when one fails, the pending batch is rejected and the warehouse rolled back.
_BATCH_STEP_PREFIXES = ("landed_batch", "raw_", "staging_", "validate_", "accepted_batch")


@dg.failure_hook(required_resource_keys={"warehouse"})
def reject_pending_batch(context: dg.HookContext) -> None:
    """A step before acceptance failed: roll the warehouse back to the last accepted state, now (not at the next
    run), and record why on the batch."""
    if not (context.step_key or "").startswith(_BATCH_STEP_PREFIXES):
        return
    error = context.op_exception
    reason = getattr(error, "description", None) or f"{type(error).__name__}: {error}"
    try:
        with context.resources.warehouse.connect() as con:
            if not table_exists(con, f"{SCHEMA}.opened") or opened_batch(con) is None:
                return
            roll_back(con, f"{context.step_key}: {reason}".splitlines()[0])
    except Exception as exc:  # noqa: BLE001 - warehouse busy or unreadable: the next run rolls back instead
        context.log.warning(f"could not roll back the pending batch now ({exc}); the next run will")


process_batch = dg.define_asset_job(
    "process_batch",
    selection=dg.AssetSelection.all(),
    description="Land one batch and rebuild everything downstream of it.",
    hooks={reject_pending_batch},
)

defs = dg.Definitions(
    assets=[landed_batch, *raw_assets, *staging_assets, accepted_batch], jobs=[process_batch]
)

# Every ingest asset, in graph order, for asset lists that run ingest without the whole job (tests, tools).
ingest_assets = [landed_batch, *raw_assets, *staging_assets, accepted_batch]
