"""The Spark engine's session settings: DuckDB's meaning everywhere, local tuning only for a local master."""

from pipelines.warehouse.spark_session import session_conf


def test_local_session_reads_like_duckdb_and_stays_small() -> None:
    conf = session_conf("local[2]", warehouse_dir="/tmp/lake")
    assert conf["spark.master"] == "local[2]"
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert conf["spark.sql.timestampType"] == "TIMESTAMP_NTZ"
    assert conf["spark.sql.shuffle.partitions"] == "4"
    assert conf["spark.ui.enabled"] == "false"
    assert conf["spark.sql.warehouse.dir"] == "/tmp/lake"


def test_spark_connect_takes_the_clusters_settings() -> None:
    conf = session_conf(remote="sc://cluster:15002")
    assert conf["spark.remote"] == "sc://cluster:15002"
    assert conf["spark.sql.timestampType"] == "TIMESTAMP_NTZ"
    assert not {"spark.master", "spark.driver.memory", "spark.sql.shuffle.partitions"} & set(conf)
