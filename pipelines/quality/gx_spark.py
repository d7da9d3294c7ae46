"""The suites through Great Expectations' Spark datasource: the same expectations, computed by Spark.

GX computes each metric as a Spark aggregation over the table's DataFrame (nothing is collected to the driver but
the counts). Two things in the suite files are written for DuckDB and are said again for Spark here:
- the SQL of `unexpected_rows_expectation` is DuckDB SQL: it is rendered by the same renderer as the models
  (`pipelines/warehouse/spark_sql.py`), GX's `{batch}` kept as a placeholder;
- column types are DuckDB's names: they are given as Spark's (`TIMESTAMP` is `TimestampNTZType`).
"""

from __future__ import annotations

from typing import Any

from pipelines.warehouse.spark_sql import to_spark

DATASOURCE_NAME = "warehouse_spark"
SPARK_TYPES = {
    "DATE": "DateType",
    "VARCHAR": "StringType",
    "BIGINT": "LongType",
    "INTEGER": "IntegerType",
    "DOUBLE": "DoubleType",
    "DOUBLE_PRECISION": "DoubleType",
    "FLOAT": "FloatType",
    "TIMESTAMP": "TimestampNTZType",
    "BOOLEAN": "BooleanType",
}
_BATCH = "__gx_batch__"


def spark_query(duckdb_query: str) -> str:
    """An `unexpected_rows_query` of a suite for Spark: `{batch}` survives the rendering."""
    text = duckdb_query.replace("{batch}", _BATCH)
    return to_spark(text).replace(_BATCH, "{batch}")


def spark_kwargs(expectation_type: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The expectation's arguments with DuckDB's SQL and type names said for Spark."""
    out = dict(kwargs)
    if expectation_type == "unexpected_rows_expectation":
        out["unexpected_rows_query"] = spark_query(out["unexpected_rows_query"])
    elif expectation_type == "expect_column_values_to_be_of_type":
        out["type_"] = SPARK_TYPES.get(out["type_"].upper(), out["type_"])
    elif expectation_type == "expect_column_values_to_be_in_type_list":
        out["type_list"] = sorted({SPARK_TYPES.get(t.upper(), t) for t in out["type_list"]})
    return out


def ephemeral_context() -> tuple[Any, Any]:
    """An in-memory GX context and a Spark datasource (DataFrames passed per batch)."""
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    return context, context.data_sources.add_spark(name=DATASOURCE_NAME)
