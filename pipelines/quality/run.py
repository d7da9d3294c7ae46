"""One table's validation step without Dagster: validate, quarantine, record history, write Data Docs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.quality.history import current_batch_id, record_results
from pipelines.quality.quarantine import quarantine_failing_rows, row_predicate
from pipelines.quality.suites import Suite
from pipelines.quality.validate import CheckResult, validate_suite

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableValidation:
    table: str
    batch_id: str | None
    results: list[CheckResult]
    quarantined: dict[str, int]  # rows moved to quarantine.rows per error check

    @property
    def blocking_failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.severity == "error" and r.status == "fail"]


def run_table_validation(
    con: duckdb.DuckDBPyConnection,
    suite: Suite,
    run_id: str,
    partition_key: str | None = None,
    data_docs_dir: Path | None = None,
) -> TableValidation:
    """Validates `staging.<table>`, moves rows failing error-level row checks to quarantine (whether or not
    the check is over its threshold: a blocked batch publishes nothing anyway), and appends the results to
    `dq.check_results`. Counts are taken before the move, so the history shows what arrived."""
    batch_id = current_batch_id(con, suite.table, partition_key)
    outcome = validate_suite(con, suite)
    failed_rows = {r.check_name for r in outcome.results if r.failing_rows}
    predicates: dict[str, str] = {}
    explanations: dict[str, str] = {}
    for expectation in suite.expectations:
        if expectation.severity != "error" or not expectation.quarantine:
            continue
        if expectation.check_name not in failed_rows:
            continue
        predicate = row_predicate(expectation, suite.table)
        if predicate is not None:
            predicates[expectation.check_name] = predicate
            explanations[expectation.check_name] = expectation.explanation
    quarantined = quarantine_failing_rows(con, suite.table, predicates, explanations)
    record_results(con, outcome.results, run_id, batch_id, quarantined)
    if data_docs_dir is not None:
        from pipelines.quality.data_docs import write_validation_page

        try:
            write_validation_page(outcome.gx_result, Path(data_docs_dir), suite.table)
        except Exception as exc:  # Data Docs are a convenience: never fail validation over them
            log.warning("GX Data Docs for %s not written: %s", suite.table, exc)
    return TableValidation(suite.table, batch_id, outcome.results, quarantined)
