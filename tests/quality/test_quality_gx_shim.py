"""Fails loudly when a Great Expectations upgrade breaks the DuckDB pushdown shim (pipelines/quality/gx_duckdb.py)."""

import duckdb
import pytest

from pipelines.quality.gx_duckdb import enable_duckdb_pushdown, ephemeral_context


def test_private_persisted_dialects_still_exist_and_take_duckdb():
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

    assert isinstance(engine_module._PERSISTED_CONNECTION_DIALECTS, tuple), "GX moved the private name"
    enable_duckdb_pushdown()
    enable_duckdb_pushdown()  # idempotent
    names = [getattr(d, "value", d) for d in engine_module._PERSISTED_CONNECTION_DIALECTS]
    assert names.count("duckdb") == 1
    # GX decides "persisted" from the connection string prefix as well as from the dialect name.
    assert engine_module._dialect_requires_persisted_connection(connection_string="duckdb:///:memory:")


@pytest.mark.filterwarnings("ignore:.*schema_name.*:DeprecationWarning")
def test_gx_counts_rows_inside_duckdb(tmp_path):
    import great_expectations as gx
    import great_expectations.expectations as gxe

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema staging")
    con.execute(
        "create table staging.t as select i as id, case when i % 4 = 0 then null else i end as v from range(8) r(i)"
    )
    context, datasource = ephemeral_context(con)
    batch = datasource.add_table_asset(
        name="t", table_name="t", schema_name="staging"
    ).add_batch_definition_whole_table("all")
    suite = context.suites.add(
        gx.ExpectationSuite(
            name="t",
            expectations=[
                gxe.ExpectColumnValuesToNotBeNull(column="v"),
                gxe.UnexpectedRowsExpectation(unexpected_rows_query="select * from {batch} where id > 5"),
            ],
        )
    )
    result = context.validation_definitions.add(gx.ValidationDefinition(name="v", data=batch, suite=suite)).run()
    by_type = {r.expectation_config.type: r for r in result.results}
    null_check = by_type["expect_column_values_to_not_be_null"]
    assert not null_check.exception_info.get("raised_exception"), null_check.exception_info
    assert null_check.result["element_count"] == 8
    assert null_check.result["unexpected_count"] == 2
    assert by_type["unexpected_rows_expectation"].result["observed_value"] == 2


@pytest.mark.filterwarnings("ignore:.*schema_name.*:DeprecationWarning")
def test_regex_is_still_unsupported_on_duckdb_so_suites_use_sql(tmp_path):
    """If this starts passing, regex expectations could replace the SQL format checks in the suites."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema staging; create table staging.t as select 'a1' as code")
    context, datasource = ephemeral_context(con)
    batch = datasource.add_table_asset(
        name="t", table_name="t", schema_name="staging"
    ).add_batch_definition_whole_table("all")
    suite = context.suites.add(
        gx.ExpectationSuite(name="t", expectations=[gxe.ExpectColumnValuesToMatchRegex(column="code", regex="^a")])
    )
    result = context.validation_definitions.add(gx.ValidationDefinition(name="v", data=batch, suite=suite)).run()
    if result.results[0].success:
        pytest.fail("GX now supports regex on DuckDB: consider simplifying the SQL format checks")


@pytest.mark.filterwarnings("ignore:.*schema_name.*:DeprecationWarning")
def test_sql_checks_run_their_query_once_and_report_the_count(tmp_path):
    """GX's own unexpected-rows check runs the query twice (count and a row sample we never show); ours once."""
    import json

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from pipelines.contract.suites import load_suite
    from pipelines.quality.validate import validate_suite

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema staging; create table staging.patients as select i as id from range(10) r(i)")
    meta = {"kahn_category": "plausibility", "severity": "warn", "threshold": 0, "explanation": "x"}
    queries = {"late_ids": "select * from {batch} where id >= 7", "no_ids": "select * from {batch} where id < 0"}
    path = tmp_path / "patients.json"
    path.write_text(json.dumps({"name": "patients", "expectations": [
        {"type": "unexpected_rows_expectation", "kwargs": {"unexpected_rows_query": q},
         "meta": {**meta, "check_name": n}}
        for n, q in queries.items()
    ]}))
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        run = validate_suite(con, load_suite(path))
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert {r.check_name: (r.failing_rows, r.status) for r in run.results} == {
        "late_ids": (3, "fail"), "no_ids": (0, "pass")}
    for query in ("where id >= 7", "where id < 0"):
        assert sum(query in s for s in statements) == 1, [s for s in statements if query in s]
    by_name = {r.expectation_config.meta["check_name"]: r for r in run.gx_result.results}
    assert by_name["late_ids"].result == {"observed_value": 3} and not by_name["late_ids"].success
