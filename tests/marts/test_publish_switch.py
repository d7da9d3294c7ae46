"""The published snapshot switches at one rename, and what an interrupted publish leaves is cleaned by the next one.

`marts.duckdb` is a link through `current`, so the DuckDB file and the Parquet files can never be on two different
snapshots, wherever a publish stops; `.staging-*` folders, temporary links and snapshot folders never switched in
go at the next publish.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from marts_synthetic import build_warehouse
from run_helpers import ROOT

from pipelines.marts.build import build_marts
from pipelines.marts.publish import publish_snapshot, read_published_run_id


class _PowerCut(BaseException):
    """Stands for the process dying: not an Exception, so no `except Exception` cleans up after it."""


def _state(published: Path) -> tuple[str | None, str | None]:
    """(run id readers of marts.duckdb get, run id of the manifest in current/)."""
    import json

    manifest = json.loads((published / "current" / "manifest.json").read_text())["run_id"]
    return read_published_run_id(published), manifest


def _leftovers(published: Path) -> list[str]:
    current = os.readlink(published / "current").split("/")[-1]
    found = [p.name for p in published.iterdir() if p.name.startswith(".")]
    found += [p.name for p in (published / "snapshots").iterdir() if p.name.startswith(".") or p.name > current]
    return found


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("publish_switch") / "warehouse.duckdb"
    build_warehouse(db, patients=200, seed=5)
    return db


@pytest.mark.parametrize("cut_at", [0, 1, 2])
def test_a_publish_cut_at_any_rename_never_leaves_the_file_and_the_folder_on_different_runs(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cut_at: int
) -> None:
    published = tmp_path / "published"
    con = duckdb.connect(str(warehouse))
    try:
        build_marts(con, run_id="run-a", batch_id="b1")
        publish_snapshot(con, published)
        build_marts(con, run_id="run-b", batch_id="b2")
        real = {"replace": os.replace, "rename": os.rename}
        calls = []

        def cutting(name: str):
            def move(src, dst):
                calls.append(name)
                if len(calls) > cut_at:
                    raise _PowerCut
                return real[name](src, dst)

            return move

        monkeypatch.setattr(os, "replace", cutting("replace"))
        monkeypatch.setattr(os, "rename", cutting("rename"))
        try:
            publish_snapshot(con, published)
        except _PowerCut:
            pass
        monkeypatch.undo()
        run_of_file, run_of_folder = _state(published)
        assert run_of_file == run_of_folder  # one snapshot, whichever it is
        publish_snapshot(con, published)  # the next publish
    finally:
        con.close()
    assert _state(published) == ("run-b", "run-b")
    assert _leftovers(published) == []


KILLED_PUBLISH = textwrap.dedent(
    """
    import sys, duckdb
    from pipelines.marts.build import build_marts
    from pipelines.marts.publish import publish_snapshot
    con = duckdb.connect(sys.argv[1])
    build_marts(con, run_id="run-killed", batch_id="b9")
    publish_snapshot(con, sys.argv[2])
    """
)


@pytest.mark.parametrize("stage", ["publish", "publish_switch"])
def test_a_kill_during_publish_keeps_the_snapshot_and_the_next_publish_cleans_up(
    warehouse: Path, tmp_path: Path, stage: str
) -> None:
    db = tmp_path / "warehouse.duckdb"
    db.write_bytes(warehouse.read_bytes())
    published = tmp_path / "published"
    with duckdb.connect(str(db)) as con:
        build_marts(con, run_id="run-a", batch_id="b1")
        publish_snapshot(con, published)
    before = (os.readlink(published / "current"), (published / "marts.duckdb").read_bytes())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CRAMP_COHORT_FAULT_AT": stage}
    killed = subprocess.run([sys.executable, "-c", KILLED_PUBLISH, str(db), str(published)], env=env, timeout=300)
    assert killed.returncode == -9
    assert (os.readlink(published / "current"), (published / "marts.duckdb").read_bytes()) == before
    assert _leftovers(published)  # a half-written or never switched snapshot is there
    with duckdb.connect(str(db)) as con:
        build_marts(con, run_id="run-c", batch_id="b3")
        publish_snapshot(con, published)
    assert _state(published) == ("run-c", "run-c")
    assert _leftovers(published) == []
