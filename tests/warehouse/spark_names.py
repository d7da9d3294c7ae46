"""The Spark session of the tests is shared by every test module of a process: a module that registers a name
(a view `raw.<file>`, say) drops it when it is done, so another module can register the same name as a table."""

from __future__ import annotations


def drop_spark_name(spark, name: str) -> None:
    """Drops the table or view `name` (schema.table) when it exists."""
    schema = name.split(".")[0]
    if spark.catalog.databaseExists(schema) and spark.catalog.tableExists(name):
        kind = spark.catalog.getTable(name).tableType
        spark.sql(f"drop {'view' if kind == 'VIEW' else 'table'} {name}")
