"""Publishes the marts as a read-only snapshot that BI tools can read while the next run writes.

Layout of `published_dir`:
    marts.duckdb -> current/marts.duckdb   what readers open read-only (tables in schema main, so
                            `marts.<table>` resolves)
    current -> snapshots/<id>   symlink to the current snapshot folder (DuckDB file, Parquet files, manifest.json)
    snapshots/<id>/         marts.duckdb, manifest.json, parquet/<mart>.parquet (files are mode 0444)

Why: DuckDB lets one process write a file and a reader holding it blocks a writer. Readers therefore never open
the warehouse file; they open a snapshot file that is never written again. A new snapshot is written complete in
its own folder, checked, then switched in by one `os.replace` of the `current` link (an atomic rename): the DuckDB
file and the Parquet files move together, because `marts.duckdb` is itself a link through `current`. A reader
holding the old file keeps reading the old inode, a new reader gets the new files, nobody sees a mix, and the writer
never waits for a reader. Anything failing before the switch (de-identification check, disk full, a kill) leaves
the published snapshot as it was; what a killed publish leaves behind (a `.staging-*` folder, a snapshot folder
never switched in, a temporary link) is removed by the next publish.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.faults import fault_point
from pipelines.marts.deid import assert_deidentified
from pipelines.marts.disclosure import assert_disclosure_safe
from pipelines.marts.specs import MART_NAMES
from pipelines.warehouse import connect, quote_literal

SNAPSHOT_FILE = "marts.duckdb"
CURRENT_LINK = "current"
KEEP_SNAPSHOTS = 3


class PublishError(RuntimeError):
    """The snapshot could not be built or verified; the published snapshot was left unchanged."""


@dataclass(frozen=True)
class PublishResult:
    snapshot_id: str
    duckdb_path: Path
    snapshot_dir: Path
    run_id: str
    rows: dict[str, int]


def publish_snapshot(
    con: duckdb.DuckDBPyConnection,
    published_dir: Path,
    tables: Sequence[str] = MART_NAMES,
    keep: int = KEEP_SNAPSHOTS,
) -> PublishResult:
    """Copies `marts.<tables>` of `con` into a new snapshot and atomically makes it the published one."""
    published_dir = Path(published_dir)
    snapshots = published_dir / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    clean_leftovers(published_dir)
    assert_deidentified(con)  # never publish identifiers (docs/outputs.md), whatever the caller did before
    assert_disclosure_safe(con)  # nor a hidden count the other published counts give away
    warehouse = _warehouse_path(con, published_dir)
    _refuse_another_warehouses_folder(published_dir, warehouse)
    run_id = _run_id(con)
    snapshot_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"
    staging = snapshots / f".staging-{snapshot_id}"
    try:
        rows = _write_snapshot(con, staging, tables)
        _verify(staging / SNAPSHOT_FILE, rows, run_id)
        _write_manifest(staging, snapshot_id, run_id, rows, warehouse)
        for path in staging.rglob("*"):
            if path.is_file():
                path.chmod(0o444)
        fault_point("publish")
        final_dir = snapshots / snapshot_id
        os.rename(staging, final_dir)
    except Exception as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise PublishError(f"snapshot not published, previous one kept: {exc}") from exc
    fault_point("publish_switch")
    _swap_in(published_dir, final_dir)
    _prune(snapshots, keep=keep, current=final_dir)
    return PublishResult(snapshot_id, published_dir / SNAPSHOT_FILE, final_dir, run_id, rows)


def _run_id(con: duckdb.DuckDBPyConnection) -> str:
    try:
        return str(con.execute("select run_id from marts.run_info").fetchone()[0])
    except (duckdb.Error, TypeError) as exc:
        raise PublishError("marts.run_info is missing: build the marts before publishing") from exc


def _write_snapshot(con: duckdb.DuckDBPyConnection, staging: Path, tables: Sequence[str]) -> dict[str, int]:
    (staging / "parquet").mkdir(parents=True)
    alias = f"snapshot_{uuid.uuid4().hex[:8]}"
    rows: dict[str, int] = {}
    con.execute(f"attach {quote_literal(staging / SNAPSHOT_FILE)} as {alias}")
    try:
        for table in tables:
            con.execute(f"create table {alias}.main.{table} as select * from marts.{table}")
            parquet = quote_literal(staging / "parquet" / f"{table}.parquet")
            con.execute(f"copy marts.{table} to {parquet} (format parquet)")
            rows[table] = con.execute(f"select count(*) from {alias}.main.{table}").fetchone()[0]
    finally:
        con.execute(f"detach {alias}")  # detach checkpoints: the file is complete and has no WAL
    return rows



def _verify(snapshot: Path, rows: dict[str, int], run_id: str) -> None:
    with connect(snapshot, read_only=True) as check:
        for table, expected in rows.items():
            actual = check.execute(f"select count(*) from main.{table}").fetchone()[0]
            if actual != expected:
                raise PublishError(f"snapshot marts.{table} has {actual} rows, expected {expected}")
            run_ids = check.execute(f"select distinct run_id from main.{table}").fetchall()
            if run_ids and run_ids != [(run_id,)]:
                raise PublishError(f"snapshot marts.{table} mixes runs: {run_ids}")


def _warehouse_path(con: duckdb.DuckDBPyConnection, published_dir: Path) -> str | None:
    """The DuckDB file the marts come from, relative to the published folder (a warehouse copied or moved together
    with its folder keeps it); None for an in-memory database."""
    row = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()
    if not row or not row[0]:
        return None
    return os.path.relpath(Path(row[0]).resolve(), Path(published_dir).resolve())


def _refuse_another_warehouses_folder(published_dir: Path, warehouse: str | None) -> None:
    """A folder holds the snapshots of one warehouse: publishing another's marts there would replace what its
    readers rely on with numbers from elsewhere (two warehouses side by side, or a --db elsewhere pointed at this
    folder)."""
    manifest = published_dir / CURRENT_LINK / "manifest.json"
    try:
        owner = json.loads(manifest.read_text()).get("warehouse")
    except (OSError, ValueError):
        return  # nothing published yet (or a snapshot from before the owner was recorded)
    if owner and warehouse and owner != warehouse:
        raise PublishError(
            f"{published_dir} holds the snapshot of another warehouse ({owner}); set published_dir for "
            f"{warehouse} (by default the folder beside it)"
        )


def _write_manifest(
    staging: Path, snapshot_id: str, run_id: str, rows: dict[str, int], warehouse: str | None = None
) -> None:
    manifest = {
        "snapshot_id": snapshot_id,
        "run_id": run_id,
        "warehouse": warehouse,
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tables": rows,
        "duckdb": SNAPSHOT_FILE,
        "parquet": {t: f"parquet/{t}.parquet" for t in rows},
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def _swap_in(published_dir: Path, final_dir: Path) -> None:
    # One rename within one folder (atomic on POSIX) switches everything: `marts.duckdb` points through `current`.
    tmp_link = published_dir / f".{CURRENT_LINK}.{final_dir.name}"
    os.symlink(Path("snapshots") / final_dir.name, tmp_link)
    os.replace(tmp_link, published_dir / CURRENT_LINK)
    _ensure_file_link(published_dir)


def _ensure_file_link(published_dir: Path) -> None:
    """`marts.duckdb` as the link `current/marts.duckdb` (a snapshot published by an older release left a hard
    link there, switched by a second rename that a kill could separate from the first)."""
    target = Path(CURRENT_LINK) / SNAPSHOT_FILE
    link = published_dir / SNAPSHOT_FILE
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return
    tmp = published_dir / f".{SNAPSHOT_FILE}.link"
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def clean_leftovers(published_dir: Path) -> list[Path]:
    """Removes what an interrupted publish left (call while holding the warehouse: nobody else publishes):
    `.staging-*` folders, temporary links, and snapshot folders newer than the current one that were never
    switched in. Returns what was removed."""
    published_dir = Path(published_dir)
    snapshots = published_dir / "snapshots"
    removed: list[Path] = []
    if not snapshots.is_dir():
        return removed
    current = _current_dir(published_dir)
    for path in snapshots.iterdir():
        never_switched = current is not None and path.is_dir() and path.name > current.name
        if path.name.startswith(".staging-") or never_switched:
            _remove_snapshot(path)
            removed.append(path)
    for path in published_dir.iterdir():
        if path.name.startswith((f".{CURRENT_LINK}.", f".{SNAPSHOT_FILE}.")):
            path.unlink(missing_ok=True)
            removed.append(path)
    if current is not None:
        _ensure_file_link(published_dir)
    return removed


def _current_dir(published_dir: Path) -> Path | None:
    link = published_dir / CURRENT_LINK
    return published_dir / os.readlink(link) if link.is_symlink() else None


def _remove_snapshot(path: Path) -> None:
    for child in path.rglob("*"):
        if child.is_file():
            child.chmod(0o644)
    shutil.rmtree(path, ignore_errors=True)


def _prune(snapshots: Path, keep: int, current: Path) -> None:
    # Old snapshots stay readable by processes that already opened them (POSIX unlink semantics).
    done = sorted(p for p in snapshots.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in done[: max(0, len(done) - keep)]:
        if old != current:
            _remove_snapshot(old)


def read_published_run_id(published_dir: Path) -> str | None:
    """The run id of the published snapshot, or None when nothing was published yet."""
    path = Path(published_dir) / SNAPSHOT_FILE
    if not path.exists():
        return None
    with connect(path, read_only=True) as con:
        return str(con.execute("select run_id from main.run_info").fetchone()[0])
