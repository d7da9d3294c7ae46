"""Dagster's standard table metadata for the assets that are DuckDB tables: the column schema from the table's
contract (`sql/<folder>/schema.yml`: columns, types, key) on the definition, so the UI shows it before any run,
and the row count on every materialization (`dagster/row_count`, which the UI charts over time)."""

from __future__ import annotations

import dagster as dg
import duckdb

from pipelines.contract.tables import table_contract


def table_definition_metadata(qualified_name: str) -> dict[str, object]:
    """`dagster/column_schema` and `dagster/table_name` of a table with a contract."""
    contract = table_contract(qualified_name)
    single_key = contract.key[0] if len(contract.key) == 1 else None
    columns = [
        dg.TableColumn(
            name,
            kind,
            constraints=dg.TableColumnConstraints(nullable=name != single_key, unique=name == single_key),
        )
        for name, kind in contract.columns.items()
    ]
    constraints = dg.TableConstraints(other=[f"unique key: ({', '.join(contract.key)})"] if contract.key else [])
    return {
        "dagster/column_schema": dg.TableSchema(columns=columns, constraints=constraints),
        "dagster/table_name": qualified_name,
        "grain": contract.grain,
    }


def row_count_metadata(con: duckdb.DuckDBPyConnection, qualified_name: str) -> dict[str, object]:
    """`dagster/row_count` of the table as it is now."""
    return {"dagster/row_count": con.execute(f"select count(*) from {qualified_name}").fetchone()[0]}
