"""Runs one table's suite with Great Expectations, computed inside DuckDB, and turns GX results into counts.

Every expectation becomes one `CheckResult` with failing rows counted against the table's rows. The status uses
the suite's threshold (max % failing rows of the whole table), not GX's `success`, so that map expectations (which
ignore NULLs) and SQL expectations (which count rows) are judged alike (`judge`).

The generic checks (expectations/generic/: before birth, after death, references resolve, natural key unique, not in
the future) are counts of rows a query returns: they are measured by one DuckDB statement per table, each query
counted once, instead of one GX validation each (GX's per-expectation overhead was most of a small batch's
validation time). GX runs the table's own expectations and renders the Data Docs of those.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import duckdb

from pipelines.contract.suites import BATCH_VOLUME, ExpectationDef, Suite
from pipelines.quality.gx_duckdb import close_datasource, ephemeral_context

# Expectations that judge the table's shape rather than rows: a failure counts every row as failing.
_TABLE_LEVEL = {
    "expect_table_columns_to_match_set",
    "expect_table_columns_to_match_ordered_list",
    "expect_column_to_exist",
    "expect_column_values_to_be_of_type",
    "expect_column_values_to_be_in_type_list",
    "expect_table_row_count_to_be_between",
    "expect_table_column_count_to_equal",
}


NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class CheckResult:
    table_name: str
    check_name: str
    expectation_type: str
    kahn_category: str
    severity: str
    threshold: float
    explanation: str
    status: str  # pass / fail / not_applicable (a row check of an empty table)
    failing_rows: int | None  # None when the expectation itself raised (status fail, see detail)
    total_rows: int
    detail: str

    @classmethod
    def of(
        cls,
        expectation: ExpectationDef,
        table: str,
        status: str,
        failing_rows: int | None,
        total_rows: int,
        detail: str = "",
    ) -> CheckResult:
        """A check's result, its description taken from its expectation."""
        return cls(
            table_name=table,
            check_name=expectation.check_name,
            expectation_type=expectation.type,
            kahn_category=expectation.kahn_category,
            severity=expectation.severity,
            threshold=expectation.threshold,
            explanation=expectation.explanation,
            status=status,
            failing_rows=failing_rows,
            total_rows=total_rows,
            detail=detail,
        )

    @property
    def failing_pct(self) -> float | None:
        if self.failing_rows is None:
            return None
        return 100.0 * self.failing_rows / self.total_rows if self.total_rows else 0.0


@dataclass(frozen=True)
class SuiteRun:
    results: list[CheckResult]
    gx_result: Any  # the ExpectationSuiteValidationResult, for Data Docs


def validate_suite(con: duckdb.DuckDBPyConnection, suite: Suite, schema: str = "staging") -> SuiteRun:
    """Validates `<schema>.<suite.table>` against the suite; all computation happens in DuckDB."""
    # GX reads through cursors of `con`, which see committed data only: callers must not hold a transaction.
    total_rows = con.execute(f"select count(*) from {schema}.{suite.table}").fetchone()[0]

    measured = [e for e in suite.expectations if e.type != BATCH_VOLUME]  # the volume check is ours (run.py)
    generic = [e for e in measured if e.meta.get("generic_check")]
    generic_counts = count_generic_checks(con, generic, f"{schema}.{suite.table}")
    own = tuple(e for e in measured if not e.meta.get("generic_check"))
    if not own:
        results = [_generic_result(e, generic_counts[e.check_name], suite.table, total_rows) for e in generic]
        return SuiteRun(results=results, gx_result=None)

    # GX is imported only when a suite has expectations of its own (the import alone costs seconds).
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    context, datasource = ephemeral_context(con)
    with warnings.catch_warnings():
        # GX 1.24 deprecates schema_name in favour of a schema in the connection string; DuckDB has no such
        # option in duckdb-engine URLs, and one datasource serves every schema here.
        warnings.simplefilter("ignore", DeprecationWarning)
        asset = datasource.add_table_asset(name=suite.table, table_name=suite.table, schema_name=schema)
    batch = asset.add_batch_definition_whole_table("current")
    from pipelines.quality.row_count_expectation import UnexpectedRowCountExpectation

    expectations = [
        UnexpectedRowCountExpectation(**_gx_kwargs(e), meta=e.meta)
        if e.type == "unexpected_rows_expectation"
        else ExpectationConfiguration(type=e.type, kwargs=_gx_kwargs(e), meta=e.meta).to_domain_obj()
        for e in own
    ]
    gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.table, expectations=expectations))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite.table}_current", data=batch, suite=gx_suite)
    )
    try:
        gx_result = definition.run(result_format="BASIC")
    finally:
        close_datasource(datasource)

    by_name = {r.expectation_config.meta.get("check_name"): r for r in gx_result.results}
    results = [
        _generic_result(e, generic_counts[e.check_name], suite.table, total_rows)
        if e.check_name in generic_counts
        else _to_check_result(e, by_name.get(e.check_name), suite.table, total_rows)
        for e in measured
    ]
    return SuiteRun(results=results, gx_result=gx_result)


def count_generic_checks(
    con: duckdb.DuckDBPyConnection, expectations: list[ExpectationDef], relation: str
) -> dict[str, int | str]:
    """Rows each generic check's query returns over `relation`, in one statement; a check whose query fails is
    counted alone, so its error (a str) names it and the others still count."""
    if not expectations:
        return {}
    queries = {e.check_name: _over(e, relation) for e in expectations}
    counts = ",\n".join(f"(select count(*) from ({query}) as unexpected)" for query in queries.values())
    try:
        row = con.execute(f"select\n{counts}").fetchone()
        return dict(zip(queries, (int(v) for v in row), strict=True))
    except duckdb.Error:
        pass
    out: dict[str, int | str] = {}
    for name, query in queries.items():
        try:
            out[name] = int(con.execute(f"select count(*) from ({query}) as unexpected").fetchone()[0])
        except duckdb.Error as exc:
            out[name] = str(exc).splitlines()[0][:500] or type(exc).__name__
    return out


def _over(expectation: ExpectationDef, relation: str) -> str:
    """The check's query with `{batch}` (GX's placeholder for the table validated) read as the table itself."""
    return str(expectation.kwargs["unexpected_rows_query"]).replace("{batch}", relation)


def _generic_result(expectation: ExpectationDef, count: int | str, table: str, total_rows: int) -> CheckResult:
    failing, detail = (count, "") if isinstance(count, int) else (None, count)
    return CheckResult.of(expectation, table, judge(expectation, failing, total_rows), failing, total_rows, detail)


def validate_suite_spark(
    spark: Any, suite: Suite, schema: str = "staging", batch_id: str | None = None
) -> SuiteRun:
    """Validates `<schema>.<suite.table>` (the rows of `batch_id` only, when given) in a Spark session (engine
    spark): the same expectations and the same `CheckResult` rows as `validate_suite`, computed by Spark through
    GX's Spark datasource."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    from pipelines.quality.gx_spark import ephemeral_context, spark_kwargs
    from pipelines.quality.row_count_expectation import UnexpectedRowCountExpectation

    frame = spark.table(f"{schema}.{suite.table}")
    if batch_id is not None:
        frame = frame.where(frame["_batch_id"] == batch_id)
    total_rows = frame.count()
    context, datasource = ephemeral_context()
    asset = datasource.add_dataframe_asset(name=suite.table)
    batch = asset.add_batch_definition_whole_dataframe("current")
    by_gx = [e for e in suite.expectations if e.type != BATCH_VOLUME]  # the volume check is ours (run.py)
    expectations = [
        UnexpectedRowCountExpectation(**spark_kwargs(e.type, _gx_kwargs(e)), meta=e.meta)
        if e.type == "unexpected_rows_expectation"
        else ExpectationConfiguration(
            type=e.type, kwargs=spark_kwargs(e.type, _gx_kwargs(e)), meta=e.meta
        ).to_domain_obj()
        for e in by_gx
    ]
    gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.table, expectations=expectations))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite.table}_current", data=batch, suite=gx_suite)
    )
    gx_result = definition.run(batch_parameters={"dataframe": frame}, result_format="BASIC")
    by_name = {r.expectation_config.meta.get("check_name"): r for r in gx_result.results}
    results = [_to_check_result(e, by_name.get(e.check_name), suite.table, total_rows) for e in by_gx]
    return SuiteRun(results=results, gx_result=gx_result)


def _gx_kwargs(expectation: ExpectationDef) -> dict[str, Any]:
    """Passes the threshold to GX as `mostly` for row-map expectations, so Data Docs agree with our status."""
    kwargs = dict(expectation.kwargs)
    is_map = expectation.type.startswith(("expect_column_values_", "expect_compound_columns_", "expect_multicolumn"))
    if is_map and expectation.type not in _TABLE_LEVEL and "mostly" not in kwargs:
        kwargs["mostly"] = max(0.0, 1.0 - expectation.threshold / 100.0)
    return kwargs


def _to_check_result(expectation: ExpectationDef, gx_row: Any, table: str, total_rows: int) -> CheckResult:
    failing: int | None
    detail = ""
    if gx_row is None:
        failing, detail = None, "no result from Great Expectations"
    elif _gx_error(gx_row):
        failing, detail = None, _gx_error(gx_row)[:500]
    elif expectation.type == "unexpected_rows_expectation":
        observed = gx_row.result.get("observed_value")
        failing, detail = (int(observed), "") if observed is not None else (None, "no observed value")
    elif expectation.type in _TABLE_LEVEL:
        failing = 0 if gx_row.success else total_rows
        detail = "" if gx_row.success else f"observed: {gx_row.result.get('observed_value')}"[:500]
    elif gx_row.result.get("unexpected_count") is not None:
        failing = int(gx_row.result["unexpected_count"])
    elif gx_row.success:
        failing = 0
    else:
        failing, detail = None, "Great Expectations reported failure without a count"
    return CheckResult.of(expectation, table, judge(expectation, failing, total_rows), failing, total_rows, detail)


def judge(expectation: ExpectationDef, failing: int | None, total_rows: int) -> str:
    """`pass`, `fail` or `not_applicable`: over the threshold fails; a check that could not count fails; a shape
    check (columns, types) fails on any failure, and so does a check measuring a staging rule (any row breaking it
    is a bug). A row check of an empty table judges nothing: it is not applicable rather than a pass (a shape check
    still applies: an empty table can lack a column)."""
    if failing is None:
        return "fail"
    if total_rows == 0 and failing == 0 and expectation.type not in _TABLE_LEVEL:
        return NOT_APPLICABLE
    if failing and (expectation.type in _TABLE_LEVEL or expectation.staging_rule):
        return "fail"
    pct = 100.0 * failing / total_rows if total_rows else 0.0
    return "pass" if pct <= expectation.threshold else "fail"


def _gx_error(gx_row: Any) -> str:
    """The exception message GX caught for an expectation ('' if none). GX reports it either flat or keyed
    by the metric that raised, depending on where it happened."""
    info = gx_row.exception_info or {}
    candidates = [info] + [v for v in info.values() if isinstance(v, dict)]
    for candidate in candidates:
        if candidate.get("raised_exception"):
            message = str(candidate.get("exception_message") or "")
            return message or "Great Expectations raised an exception"
    return ""
