"""The one place that bends Great Expectations 1.x to run its SQL in DuckDB.

GX's SQLAlchemy engine fetches metric results after handing the connection back to the pool; through
duckdb-engine the cursor is then empty and every expectation errors (`IndexError` in
`resolve_metric_bundle`, GX issues #10738 / #11579). GX keeps connections open for the dialects listed in
the private `_PERSISTED_CONNECTION_DIALECTS`; adding `duckdb` there makes every metric come back. Because that
name is private, `tests/quality/test_quality_gx_shim.py` fails loudly when a GX upgrade moves or changes it.

GX talks to the *same* DuckDB database as the caller: the engine's connections are cursors of the caller's
connection (duckdb-engine's own `connect` would open the file a second time with another configuration, which
DuckDB refuses in one process).
"""

from __future__ import annotations

from typing import Any

import duckdb

DATASOURCE_NAME = "warehouse"


class _DuckDBDialectName(str):
    """Compares equal to the engine's dialect name ("duckdb") and has the `.value` GX reads from its enum."""

    value = "duckdb"


def enable_duckdb_pushdown() -> None:
    """Registers DuckDB as a persisted-connection dialect in GX (idempotent)."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

    dialects = engine_module._PERSISTED_CONNECTION_DIALECTS
    if not isinstance(dialects, tuple):
        raise RuntimeError(
            "great_expectations changed _PERSISTED_CONNECTION_DIALECTS (no longer a tuple): "
            "re-check the DuckDB pushdown shim in pipelines/quality/gx_duckdb.py"
        )
    if "duckdb" not in [getattr(d, "value", d) for d in dialects]:
        engine_module._PERSISTED_CONNECTION_DIALECTS = (*dialects, _DuckDBDialectName("duckdb"))


def ephemeral_context(con: duckdb.DuckDBPyConnection) -> tuple[Any, Any]:
    """An in-memory GX context and a SQL datasource whose queries run in `con`'s database."""
    import duckdb_engine
    import great_expectations as gx

    enable_duckdb_pushdown()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}

    def creator() -> duckdb_engine.ConnectionWrapper:
        # A cursor shares the caller's database instance (and sees its committed data).
        return duckdb_engine.ConnectionWrapper(con.cursor())

    datasource = context.data_sources.add_sql(
        name=DATASOURCE_NAME, connection_string="duckdb:///:memory:", kwargs={"creator": creator}
    )
    return context, datasource


def close_datasource(datasource: Any) -> None:
    """Closes the persisted connection and engines while the caller's DuckDB connection is still open (left to
    garbage collection, SQLAlchemy would roll back a cursor of an already-closed connection and log errors)."""
    engine = datasource.get_execution_engine()
    connection = getattr(engine, "_connection", None)
    if connection is not None:
        connection.close()
        engine._connection = None
    engine.engine.dispose()
    datasource.get_engine().dispose()
