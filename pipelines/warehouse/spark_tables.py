"""The Spark engine's tables: Parquet folders under `warehouse_dir`, where the last good output stays.

Layout (any Hadoop-compatible path; the Hadoop FileSystem API lists and renames):

    <root>/raw/<file>/_batch_id=<id>/part-*.parquet            one folder per batch of a file, renamed into place
    <root>/<schema>/<table>/v<sequence>-<run>/part-*.parquet   one folder per build; the newest with _SUCCESS wins

A build writes a new version folder; Spark's commit protocol writes `_SUCCESS` last, so a failed or killed build
leaves a folder without it, which readers skip: the previous version stays current. Making a version current is
one catalog change (`create table ... location`); older versions are pruned after it, keeping the one before.
Delta Lake would give the same with a transaction log, but `delta-spark` fetches its JAR from Maven at session
start (docs/scale-out.md); on a platform with Delta built in, this class is where it would plug in.

Uses the JVM's Hadoop FileSystem through py4j, so it needs a classic (not Spark Connect) session.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_VERSION = re.compile(r"^v(\d{12})-")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
_BATCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class SparkTables:
    def __init__(self, spark: SparkSession, root: str, keep_versions: int = 2) -> None:
        self.spark = spark
        self.root = root.rstrip("/")
        self.keep_versions = keep_versions
        jvm = spark.sparkContext._jvm
        self._path = jvm.org.apache.hadoop.fs.Path
        self._fs = self._path(self.root).getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())

    # ------------------------------------------------------------------------------------------ versioned tables
    def table_dir(self, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(f"table name {name!r}: expected schema.table in lower case")
        schema, table = name.split(".")
        return f"{self.root}/{schema}/{table}"

    def versions(self, name: str) -> list[tuple[int, str, bool]]:
        """(sequence, path, complete) of every version folder of a table, oldest first."""
        directory = self._path(self.table_dir(name))
        if not self._fs.exists(directory):
            return []
        found = []
        for status in self._fs.listStatus(directory):
            match = _VERSION.match(status.getPath().getName())
            if status.isDirectory() and match:
                path = status.getPath().toString()
                found.append((int(match.group(1)), path, self._fs.exists(self._path(path + "/_SUCCESS"))))
        return sorted(found)

    def current(self, name: str) -> str | None:
        """The path of the newest complete version (None: never built)."""
        complete = [path for _, path, ok in self.versions(name) if ok]
        return complete[-1] if complete else None

    def register(self, name: str, path: str) -> None:
        schema = name.split(".")[0]
        self.spark.sql(f"create database if not exists {schema}")
        self.spark.sql(f"drop table if exists {name}")
        self.spark.sql(f"create table {name} using parquet location '{path}'")

    def new_version(self, name: str, run_id: str = "") -> str:
        """The path of the next version folder of `name` (not created: a writer creates it)."""
        versions = self.versions(name)
        sequence = (versions[-1][0] + 1) if versions else 1
        tag = re.sub(r"[^A-Za-z0-9_-]", "_", run_id)[:40] or uuid.uuid4().hex[:8]
        return f"{self.table_dir(name)}/v{sequence:012d}-{tag}"

    def make_current(self, name: str, path: str) -> str:
        """Registers a complete version folder (it has `_SUCCESS`) as `name` and prunes older ones."""
        qualified = self._fs.makeQualified(self._path(path))
        if not self._fs.exists(self._path(qualified.toString() + "/_SUCCESS")):
            raise ValueError(f"{name}: {path} is not a complete version (no _SUCCESS)")
        path = qualified.toString()  # as listed: `file:/...`, `s3a://...`
        self.register(name, path)
        self._prune(name)
        return path

    def adopt(self, name: str, path: str) -> str:
        """Makes a version folder that another writer filled (DuckDB's Parquet export) current: `_SUCCESS` is
        written last, as Spark's own commit protocol does."""
        self._fs.create(self._path(path + "/_SUCCESS"), True).close()
        return self.make_current(name, path)

    def publish(self, name: str, frame: DataFrame, run_id: str = "") -> str:
        """Writes `frame` as a new version of `name` and makes it current; returns its path. When the write fails,
        the error is raised and the current version stays current."""
        path = self.new_version(name, run_id)
        frame.write.mode("errorifexists").parquet(path)  # raises -> no _SUCCESS -> never current
        return self.make_current(name, path)

    def local_path(self, path: str) -> str | None:
        """`path` as a local file path (`file:/x` -> `/x`), None when it is on another file system."""
        uri = self._fs.makeQualified(self._path(path)).toUri()
        return uri.getPath() if uri.getScheme() == "file" else None

    def build(self, name: str, select_sql: str, run_id: str = "") -> str:
        """`name` from a Spark SQL select (a model rendered by `render_sql(..., "spark")`)."""
        return self.publish(name, self.spark.sql(select_sql), run_id)

    def _prune(self, name: str) -> None:
        versions = self.versions(name)
        complete = [path for _, path, ok in versions if ok]
        keep = set(complete[-self.keep_versions :])
        for _, path, _ok in versions:
            if path not in keep:  # older versions, and leftovers of failed builds
                self._fs.delete(self._path(path), True)

    def open_all(self) -> int:
        """Registers the current version of every table under the root (what a new session does first)."""
        count = 0
        root = self._path(self.root)
        if not self._fs.exists(root):
            return 0
        for schema_status in self._fs.listStatus(root):
            schema = schema_status.getPath().getName()
            if schema == "raw" or schema.startswith((".", "_")) or not schema_status.isDirectory():
                continue
            for table_status in self._fs.listStatus(schema_status.getPath()):
                name = f"{schema}.{table_status.getPath().getName()}"
                path = self.current(name)
                if path:
                    self.register(name, path)
                    count += 1
        return count

    # ---------------------------------------------------------------------------------------- raw, by batch
    def raw_batch_dir(self, file: str, batch_id: str) -> str:
        if not _BATCH.match(batch_id) or not _NAME.match(f"raw.{file}"):
            raise ValueError(f"raw batch {file!r}/{batch_id!r}: not a valid file name or batch id")
        return f"{self.root}/raw/{file}/_batch_id={batch_id}"

    def has_raw_batch(self, file: str, batch_id: str, landing: str) -> bool:
        """Whether the batch's folder holds the landing named `landing` (a re-delivery is another landing)."""
        return bool(self._fs.exists(self._path(f"{self.raw_batch_dir(file, batch_id)}/{_landing_marker(landing)}")))

    def add_batch(
        self,
        file: str,
        batch_id: str,
        frame: DataFrame | None = None,
        landing: str = "",
        write: Callable[[str], None] | None = None,
    ) -> str:
        """Writes one batch of a raw file aside (`frame`, or `write(folder)` for another writer such as DuckDB),
        then renames it to `_batch_id=<id>` (one rename: atomic on POSIX and HDFS). A re-delivered batch replaces
        its old folder only once the new one is complete. `landing` names this landing of the batch (a marker
        file, which Spark's reader skips: its name starts with `_`)."""
        final = self._path(self.raw_batch_dir(file, batch_id))
        base = final.getParent().toString()
        hidden = self._path(f"{base}/.incoming-{batch_id}-{uuid.uuid4().hex[:8]}")
        if write is not None:
            write(hidden.toString())
        elif frame is not None:
            frame.write.mode("errorifexists").parquet(hidden.toString())
        else:
            raise ValueError("add_batch needs a frame or a writer")
        if landing:
            self._fs.create(self._path(f"{hidden.toString()}/{_landing_marker(landing)}"), True).close()
        if self._fs.exists(final):
            aside = self._path(f"{base}/.replaced-{batch_id}-{time.time_ns()}")
            self._fs.rename(final, aside)
            self._fs.rename(hidden, final)
            self._fs.delete(aside, True)
        else:
            self._fs.rename(hidden, final)
        return final.toString()

    def register_raw(self, file: str, empty_select: str | None = None) -> None:
        """`raw.<file>` as a view over its batch folders (`_batch_id` is a partition column found at read time;
        folders starting with `.` are in-flight writes, which Spark's listing skips). A file with no batch folder
        yet is `empty_select` (a select of its columns returning no rows) when given."""
        self.spark.sql("create database if not exists raw")
        base = f"{self.root}/raw/{file}"
        folders = self._fs.exists(self._path(base)) and any(
            status.getPath().getName().startswith("_batch_id=") for status in self._fs.listStatus(self._path(base))
        )
        source = f"select * from parquet.`{base}`" if folders or empty_select is None else empty_select
        self.spark.sql(f"create or replace view raw.{file} as {source}")


def _landing_marker(landing: str) -> str:
    return "_landing-" + re.sub(r"[^A-Za-z0-9_-]", "_", landing)
