"""The SparkSession of the Spark engine: a local one (tests, small runs) or a cluster's through Spark Connect.

The session settings make Spark read and compute like DuckDB, the reference engine: time zone UTC, and
TIMESTAMP without time zone (DuckDB's TIMESTAMP is a wall-clock time; Spark's TIMESTAMP_NTZ is the same thing).
"""

from __future__ import annotations

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
}
# a local session: no UI, no progress bars, few shuffle partitions (the default 200 costs seconds on small data)
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


def local_cores(master: str) -> int | None:
    """The cores of a `local[n]` master (None for `local[*]` or a cluster URL)."""
    match = _LOCAL.match(master)
    if not match:
        return None
    if match.group(2) is None:
        return 1
    return None if match.group(2) == "*" else int(match.group(2))


def start_session(
    master: str = "local[2]",
    remote: str = "",
    warehouse_dir: str | None = None,
    driver_memory: str = "3g",
    app_name: str = "cramp-cohort",
) -> SparkSession:
    """A session on `remote` (Spark Connect, `sc://host:15002`) when given, else a local/cluster one on `master`."""
    from pyspark.sql import SparkSession

    if remote:
        builder = SparkSession.builder.remote(remote).appName(app_name)
    else:
        ensure_java_home()
        builder = SparkSession.builder.master(master).appName(app_name)
        conf = dict(LOCAL_CONF) if _LOCAL.match(master) else {}
        cores = local_cores(master)
        if cores:
            conf["spark.sql.shuffle.partitions"] = str(cores * 2)
            conf["spark.default.parallelism"] = str(cores * 2)
        conf["spark.driver.memory"] = driver_memory
        for key, value in conf.items():
            builder = builder.config(key, value)
        if warehouse_dir:
            builder = builder.config("spark.sql.warehouse.dir", warehouse_dir)
    for key, value in ENGINE_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    if not remote:
        session.sparkContext.setLogLevel("ERROR")
    return session
