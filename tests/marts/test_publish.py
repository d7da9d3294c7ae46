"""Publishing: a read-only snapshot swapped in atomically; readers are never blocked and never see a mix;
a failed or blocked run never replaces the published snapshot."""

import json
import os
import stat
import subprocess
import sys
import textwrap
import time

import dagster as dg
import duckdb
import polars as pl
import pytest
from marts_synthetic import build_warehouse

from pipelines.marts.build import build_marts
from pipelines.marts.deid import DeidentificationError
from pipelines.marts.publish import PublishError, publish_snapshot, read_published_run_id
from pipelines.marts.specs import MART_NAMES
from pipelines.orchestration.assets.marts import marts, published_snapshot
from pipelines.orchestration.assets.reports import dashboard
from pipelines.orchestration.resources import DuckDBWarehouse, PipelinePaths
from tests.harness import pipeline_paths

READER = textwrap.dedent(
    """
    import sys, time, duckdb
    from pathlib import Path
    tables = sys.argv[2].split(",")

    def run_ids(con):
        ids = set()
        for t in tables:
            ids |= {r[0] for r in con.execute(f"select distinct run_id from marts.{t}").fetchall()}
        return sorted(ids)

    path, mode = sys.argv[1], sys.argv[3]
    if mode == "hold":
        con = duckdb.connect(path, read_only=True)
        print("before", *run_ids(con), flush=True)
        sys.stdin.readline()  # the test publishes a new snapshot meanwhile
        print("held", *run_ids(con), flush=True)
        con.close()  # DuckDB shares one instance per file within a process: reconnect after closing
        print("fresh", *run_ids(duckdb.connect(path, read_only=True)), flush=True)
    else:  # hammer: open, read every table, close; until the stop file exists, then once more
        stop, deadline = Path(sys.argv[4]), time.time() + 120
        reads = mixes = 0
        seen = set()
        last = False
        while not last and time.time() < deadline:
            last = stop.exists()
            with duckdb.connect(path, read_only=True) as con:
                ids = run_ids(con)
            reads += 1
            mixes += len(ids) != 1
            seen.update(ids)
        print(reads, mixes, ",".join(sorted(seen)), flush=True)
    """
)


def _paths(tmp_path) -> PipelinePaths:
    return pipeline_paths(tmp_path / "warehouse.duckdb", key_file=tmp_path / "secrets" / "hmac.key")


def _materialize(db, paths, raise_on_error=True):
    return dg.materialize(
        [marts, published_snapshot, dashboard],
        resources={"warehouse": DuckDBWarehouse(path=str(db)), "paths": paths, "spark": None},
        raise_on_error=raise_on_error,
    )


@pytest.fixture
def warehouse(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    build_warehouse(db, patients=300, seed=21)
    return db


def test_snapshot_is_read_only_complete_and_equal_to_the_marts(warehouse, tmp_path):
    published = tmp_path / "published"
    with duckdb.connect(str(warehouse)) as con:
        build_marts(con, run_id="run-a", batch_id="b1")
        result = publish_snapshot(con, published)
        expected = {t: con.sql(f"select * from marts.{t}").pl() for t in MART_NAMES}
    snapshot = published / "marts.duckdb"
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o444
    assert not (published / "marts.duckdb.wal").exists()
    assert (published / "current").resolve() == result.snapshot_dir.resolve()
    manifest = json.loads((published / "current" / "manifest.json").read_text())
    assert manifest["run_id"] == "run-a" and set(manifest["tables"]) == set(MART_NAMES)
    with duckdb.connect(str(snapshot), read_only=True) as con:
        for table, frame in expected.items():
            assert con.sql(f"select * from marts.{table}").pl().equals(frame), table
            parquet = published / "current" / "parquet" / f"{table}.parquet"
            assert pl.read_parquet(parquet).equals(frame), table
            assert manifest["tables"][table] == frame.height
        with pytest.raises(duckdb.Error):
            con.execute("create table marts.x as select 1")
    assert not [p for p in (published / "snapshots").iterdir() if p.name.startswith(".")]


def test_a_failing_publish_keeps_the_previous_snapshot(warehouse, tmp_path):
    published = tmp_path / "published"
    with duckdb.connect(str(warehouse)) as con:
        build_marts(con, run_id="run-a", batch_id="b1")
        publish_snapshot(con, published)
        inode = (published / "marts.duckdb").stat().st_ino
        build_marts(con, run_id="run-b", batch_id="b2")
        with pytest.raises(PublishError):
            publish_snapshot(con, published, tables=[*MART_NAMES, "no_such_mart"])
        con.execute("update marts.attrition set patients = 3 where step_number = 1")  # a de-id failure
        with pytest.raises(DeidentificationError):
            publish_snapshot(con, published)
    assert (published / "marts.duckdb").stat().st_ino == inode
    assert read_published_run_id(published) == "run-a"
    assert len(list((published / "snapshots").iterdir())) == 1  # no half-written staging folder left


def test_a_reader_holding_the_snapshot_neither_blocks_a_run_nor_sees_a_mix(warehouse, tmp_path):
    paths = _paths(tmp_path)
    first = _materialize(warehouse, paths)
    old_run = first.run_id
    snapshot = tmp_path / "published" / "marts.duckdb"
    tables = ",".join(MART_NAMES)
    stop = tmp_path / "stop-reading"
    holder = subprocess.Popen(
        [sys.executable, "-c", READER, str(snapshot), tables, "hold"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    hammer = subprocess.Popen(
        [sys.executable, "-c", READER, str(snapshot), tables, "hammer", str(stop)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().split() == ["before", old_run]
        started = time.monotonic()
        second = _materialize(warehouse, paths)  # the whole marts -> publish -> dashboard run
        third = _materialize(warehouse, paths)
        elapsed = time.monotonic() - started
        stop.touch()
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.stdout.readline().split() == ["held", old_run]  # the old connection keeps the old snapshot
        assert holder.stdout.readline().split() == ["fresh", third.run_id]
        holder_rc = holder.wait(timeout=30)
        reads, mixes, seen = hammer.communicate(timeout=60)[0].split()
    finally:
        for proc in (holder, hammer):
            if proc.poll() is None:
                proc.kill()
    assert second.success and third.success
    assert elapsed < 60  # not blocked by the reader (each run takes a few seconds)
    assert int(reads) > 5 and int(mixes) == 0
    assert third.run_id in seen.split(",")  # it kept reading across the swaps
    assert set(seen.split(",")) <= {old_run, second.run_id, third.run_id}
    assert read_published_run_id(tmp_path / "published") == third.run_id
    assert holder_rc == 0


def test_a_failed_run_never_replaces_the_published_snapshot(warehouse, tmp_path):
    paths = _paths(tmp_path)
    good = _materialize(warehouse, paths)
    snapshot = tmp_path / "published" / "marts.duckdb"
    before = (snapshot.stat().st_ino, (tmp_path / "reports" / "dashboard.html").read_text())
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop table cohort.care_gaps")  # an upstream table went missing: the marts step fails
    bad = _materialize(warehouse, paths, raise_on_error=False)
    assert not bad.success
    materialized = {e.asset_key.to_user_string() for e in bad.get_asset_materialization_events()}
    assert "published_snapshot" not in materialized and "dashboard" not in materialized
    assert (snapshot.stat().st_ino, (tmp_path / "reports" / "dashboard.html").read_text()) == before
    assert read_published_run_id(tmp_path / "published") == good.run_id


def test_a_run_blocked_by_a_failing_blocking_check_never_replaces_the_snapshot(warehouse, tmp_path):
    paths = _paths(tmp_path)
    good = _materialize(warehouse, paths)
    inode = (tmp_path / "published" / "marts.duckdb").stat().st_ino

    # The cohort's flags asset (its table already exists) with a blocking check that fails, as the real
    # `flags_match_evidence` check does when a flag has no evidence.
    @dg.asset(name="patient_flags")
    def flags_already_built() -> None:
        return None

    @dg.asset_check(asset="patient_flags", blocking=True)
    def flags_have_evidence() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, metadata={"flags_without_evidence": 3})

    blocked = dg.materialize(
        [flags_already_built, flags_have_evidence, marts, published_snapshot, dashboard],
        resources={"warehouse": DuckDBWarehouse(path=str(warehouse)), "paths": paths, "spark": None},
        raise_on_error=False,
    )
    assert not blocked.success
    materialized = {e.asset_key.to_user_string() for e in blocked.get_asset_materialization_events()}
    assert materialized == {"patient_flags"}
    assert (tmp_path / "published" / "marts.duckdb").stat().st_ino == inode
    assert read_published_run_id(tmp_path / "published") == good.run_id


def test_old_snapshots_are_pruned_but_the_current_one_stays(warehouse, tmp_path):
    published = tmp_path / "published"
    with duckdb.connect(str(warehouse)) as con:
        for i in range(5):
            build_marts(con, run_id=f"run-{i}", batch_id="b")
            last = publish_snapshot(con, published, keep=2)
    kept = sorted(p.name for p in (published / "snapshots").iterdir())
    assert len(kept) == 2 and last.snapshot_id in kept
    assert read_published_run_id(published) == "run-4"
    assert os.readlink(published / "current") == f"snapshots/{last.snapshot_id}"
