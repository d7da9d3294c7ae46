"""The warehouse door: the only room that opens DuckDB, and the helpers every room uses to run SQL in it.

- `connection.py`: `Warehouse` (the file and its settings) and `connect` (also read-only, also in memory).
- `lock.py`: one run at a time per warehouse file (`holding_warehouse`, `WarehouseBusy`).
- `bookkeeping.py`: the declarations of the bookkeeping tables (raw registry, quarantine, dq.*).
- `sql.py`: `read_sql`, `materialize_table`, quoting, `transaction`, `table_exists`, `row_count`.
- `files.py`: `atomic_write_text`, for reports and run summaries.
"""

from pipelines.warehouse.bookkeeping import ensure_bookkeeping
from pipelines.warehouse.connection import Warehouse, busy_from_duckdb, connect
from pipelines.warehouse.files import atomic_write_text
from pipelines.warehouse.lock import WarehouseBusy, holding_warehouse
from pipelines.warehouse.sql import (
    materialize_table,
    quote_ident,
    quote_literal,
    read_sql,
    row_count,
    table_columns,
    table_exists,
    transaction,
)

__all__ = [
    "Warehouse",
    "WarehouseBusy",
    "atomic_write_text",
    "busy_from_duckdb",
    "connect",
    "ensure_bookkeeping",
    "holding_warehouse",
    "materialize_table",
    "quote_ident",
    "quote_literal",
    "read_sql",
    "row_count",
    "table_columns",
    "table_exists",
    "transaction",
]
