"""Great Expectations' unexpected-rows check, asking DuckDB for the count only.

GX's `UnexpectedRowsExpectation` always computes two metrics: the count of unexpected rows and a sample of them.
The sample is shown only with result_format COMPLETE; we validate with BASIC, where it is computed and dropped.
Each of those metrics runs the check's whole query, so every SQL check ran twice (on 20M observations the
duplicate-key check alone took 4.9 s a run). This subclass depends on the count alone and reports it exactly as
the parent does under BASIC. Suites keep the type `unexpected_rows_expectation`; `validate.py` runs it as this.
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.expectations import UnexpectedRowsExpectation

COUNT_METRIC = "unexpected_rows_query.row_count"


class UnexpectedRowCountExpectation(UnexpectedRowsExpectation):
    """Passes when the query returns no rows; the result's observed_value is how many it returned."""

    metric_dependencies: ClassVar[tuple[str, ...]] = (COUNT_METRIC,)

    def _validate(
        self, metrics: dict, runtime_configuration: dict | None = None, execution_engine: Any = None
    ) -> dict[str, Any]:
        count = metrics[COUNT_METRIC]
        return {"success": count == 0, "result": {"observed_value": count}}
