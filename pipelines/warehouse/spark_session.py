"""The SparkSession of the Spark engine: a local one (tests, small runs) or a cluster's through Spark Connect.

The session settings make Spark read and compute like DuckDB, the reference engine: time zone UTC, and
TIMESTAMP without time zone (DuckDB's TIMESTAMP is a wall-clock time; Spark's TIMESTAMP_NTZ is the same thing).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from pipelines.warehouse.java_runtime import ensure_java_home

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_LOCAL = re.compile(r"^local(\[(\d+|\*)\])?$")

# what every session needs for the SQL models to mean what they mean on DuckDB
ENGINE_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    "spark.sql.ansi.enabled": "true",
    # partition folder values are text (`_batch_id=2024-12-01` is a batch id, not a date)
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
}
# a local session: no UI, no progress bars, few shuffle partitions (the default 200 costs seconds on small data)
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


def local_cores(master: str) -> int | None:
    """The cores of a local master (`local` 1, `local[n]` n, `local[*]` this machine's); None for a cluster."""
    match = _LOCAL.match(master)
    if not match:
        return None
    if match.group(2) is None:
        return 1
    return os.cpu_count() or 1 if match.group(2) == "*" else int(match.group(2))


def session_conf(
    master: str = "local[2]", remote: str = "", warehouse_dir: str | None = None, driver_memory: str = "3g"
) -> dict[str, str]:
    """The Spark configuration of the engine's session: Spark Connect to `remote` when given (the cluster's own
    settings apply), else a session on `master`."""
    if remote:
        return {"spark.remote": remote, "spark.app.name": "cramp-cohort", **ENGINE_CONF}
    conf = {"spark.master": master, "spark.app.name": "cramp-cohort", "spark.driver.memory": driver_memory}
    if _LOCAL.match(master):
        conf.update(LOCAL_CONF)
        cores = local_cores(master)
        if cores:
            conf["spark.sql.shuffle.partitions"] = str(cores * 2)
            conf["spark.default.parallelism"] = str(cores * 2)
    if warehouse_dir:
        conf["spark.sql.warehouse.dir"] = warehouse_dir
    return {**conf, **ENGINE_CONF}


def start_session(
    master: str = "local[2]", remote: str = "", warehouse_dir: str | None = None, driver_memory: str = "3g"
) -> SparkSession:
    """A session on `remote` (Spark Connect, `sc://host:15002`) when given, else one on `master`; a local JVM
    gets its Java first (`java_runtime.py`)."""
    from pyspark.sql import SparkSession

    conf = session_conf(master, remote, warehouse_dir, driver_memory)
    if not remote:
        ensure_java_home()
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    if not remote:
        session.sparkContext.setLogLevel("ERROR")
    return session
