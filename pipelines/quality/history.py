"""Data-quality history: every check of every run appended to `dq.check_results` (docs/outputs.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import duckdb

from pipelines.quality.validate import CheckResult
from pipelines.warehouse import ensure_bookkeeping


def record_results(
    con: duckdb.DuckDBPyConnection,
    results: Sequence[CheckResult],
    run_id: str,
    batch_id: str | None,
    quarantined: dict[str, int] | None = None,
) -> None:
    """Appends one row per check. A re-run appends again (history is per run, never overwritten)."""
    ensure_bookkeeping(con, ("dq.check_results",))
    quarantined = quarantined or {}
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        (
            run_id,
            batch_id,
            r.table_name,
            r.check_name,
            r.kahn_category,
            r.severity,
            r.status,
            r.failing_rows,
            r.total_rows,
            r.threshold,
            r.failing_pct,
            quarantined.get(r.check_name, 0),
            r.expectation_type,
            r.explanation,
            r.detail or None,
            now,
        )
        for r in results
    ]
    if rows:
        con.executemany(f"insert into dq.check_results values ({', '.join(['?'] * 16)})", rows)
