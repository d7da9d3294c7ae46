"""The Spark session as a Dagster resource (resource key `spark`), for `engine = "spark"` (docs/scale-out.md).

Dagster's `LazyPySparkResource` starts the session on first use, so a run whose steps never touch Spark starts no
JVM. Before a local session starts, Java is chosen (`pipelines/warehouse/java_runtime.py`); over Spark Connect
(`spark_remote`) the cluster's session is used as it is. Imported only with the `spark` extra.
"""

from __future__ import annotations

from dagster_pyspark import LazyPySparkResource

from pipelines.settings import Settings
from pipelines.warehouse.java_runtime import ensure_java_home
from pipelines.warehouse.spark_session import session_conf
from pipelines.warehouse.spark_tables import SparkTables


class SparkEngine(LazyPySparkResource):
    """`spark_session` (lazy), and the engine's tables under `warehouse_dir`."""

    warehouse_dir: str

    @classmethod
    def from_settings(cls, settings: Settings) -> SparkEngine:
        warehouse_dir = str(settings.spark_warehouse_dir)
        conf = session_conf(settings.spark_master, settings.spark_remote, warehouse_dir + "/_catalog")
        return cls(spark_config=conf, warehouse_dir=warehouse_dir)

    def _init_session(self) -> None:
        starting = self._spark_session is None
        local = "spark.remote" not in self.spark_config
        if starting and local:
            ensure_java_home()
        super()._init_session()
        if starting and local:
            self._spark_session.sparkContext.setLogLevel("ERROR")
            # a new session knows no tables: register the current version of each one under warehouse_dir
            SparkTables(self._spark_session, self.warehouse_dir).open_all()

    @property
    def tables(self) -> SparkTables:
        return SparkTables(self.spark_session, self.warehouse_dir)
