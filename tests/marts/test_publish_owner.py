"""A published folder belongs to one warehouse: another warehouse's marts are refused there, its own are not."""

import json
import shutil

import duckdb
import pytest
from marts_synthetic import build_warehouse

from pipelines.marts.build import build_marts
from pipelines.marts.publish import PublishError, publish_snapshot, read_published_run_id


def _built(path, run_id: str):
    build_warehouse(path, patients=300, seed=4)
    con = duckdb.connect(str(path))
    build_marts(con, run_id=run_id, batch_id="b")
    return con


def test_another_warehouse_cannot_replace_the_snapshot(tmp_path):
    published = tmp_path / "published"
    with _built(tmp_path / "a.duckdb", "run-a") as a:
        publish_snapshot(a, published)
        publish_snapshot(a, published)  # the same warehouse again: fine
    manifest = json.loads((published / "current" / "manifest.json").read_text())
    assert manifest["warehouse"] == "../a.duckdb"  # relative: the folder can move with its warehouse
    with _built(tmp_path / "b.duckdb", "run-b") as b:
        with pytest.raises(PublishError, match=r"holds the snapshot of another warehouse .*a\.duckdb"):
            publish_snapshot(b, published)
        publish_snapshot(b, tmp_path / "published_b")
    assert read_published_run_id(published) == "run-a"
    assert read_published_run_id(tmp_path / "published_b") == "run-b"


def test_a_warehouse_copied_with_its_folder_publishes_there(tmp_path):
    original = tmp_path / "site"
    original.mkdir()
    with _built(original / "w.duckdb", "run-1") as con:
        publish_snapshot(con, original / "published")
    copy = tmp_path / "restored"
    shutil.copytree(original, copy, symlinks=True)
    with duckdb.connect(str(copy / "w.duckdb")) as con:
        build_marts(con, run_id="run-2", batch_id="b")
        publish_snapshot(con, copy / "published")
    assert read_published_run_id(copy / "published") == "run-2"
    assert read_published_run_id(original / "published") == "run-1"
