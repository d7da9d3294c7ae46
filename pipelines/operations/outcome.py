"""`BatchOutcome`: how one batch run ended, the one shape every path reports (the CLI loop, the Dagster sensors,
and a batch that could not be run at all)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.warehouse import Warehouse, WarehouseBusy, table_columns, table_exists


@dataclass
class BatchOutcome:
    batch_id: str
    success: bool
    run_id: str | None = None  # None: nothing was run
    reason: str | None = None  # the cause of a failure, one line
    reason_code: str | None = None  # machine-readable cause (docs/operations.md, "Reason codes")
    failed_step: str | None = None  # the Dagster step where it failed (context; the reason says what)
    rows_read: dict[str, int] = field(default_factory=dict)  # per source file, from dq.batch_reconciliation
    rows_loaded: dict[str, int] = field(default_factory=dict)
    rows_quarantined: dict[str, int] = field(default_factory=dict)
    checks_failed: list[str] = field(default_factory=list)  # `asset:check`, warn-level ones included
    checks: list[dict] | None = None  # every check outcome ({check, passed, severity}) when checks ran
    cohort_size: int | None = None
    asset_timings: dict[str, float] = field(default_factory=dict)  # seconds per step
    published: bool = False
    seconds: float | None = None  # wall time, when the run was executed in this process
    unknown_files: list[str] = field(default_factory=list)  # files of the batch folder nobody reads
    log_file: str | None = None  # the run's full event log (a run executed in this process)
    processing_path: str | None = None  # incremental / full (None: the run did not get that far)
    processing_reason: str | None = None  # why that path
    patients_in_scope: int | None = None  # an incremental run: the patients it rebuilt

    @classmethod
    def not_run(cls, batch_id: str, reason: str, reason_code: str) -> BatchOutcome:
        """A batch that never reached the pipeline (its folder is gone, the warehouse is busy, the run crashed)."""
        return cls(batch_id, success=False, reason=reason, reason_code=reason_code)

    @property
    def reason_line(self) -> str:
        """`<reason code>: <reason>` on one line (the batch line, the ledger and the hook's environment)."""
        reason = " ".join(str(self.reason or "").split())
        code = self.reason_code
        return f"{code}: {reason}" if code and not reason.startswith(f"{code}:") else reason

    @property
    def warnings(self) -> list[str]:
        """Failed warn-level checks: they never block a batch."""
        return [c["check"] for c in self.checks or () if not c["passed"] and str(c.get("severity")).upper() == "WARN"]

    @property
    def blocking_failures(self) -> list[str]:
        return [name for name in self.checks_failed if name not in self.warnings]


def add_warehouse_counts(outcome: BatchOutcome, db_path: Path) -> bool:
    """Row counts of the batch and the cohort size from the warehouse; False when it is missing or held by a
    running job (the caller keeps what it has)."""
    if not db_path.exists():
        return False
    try:
        con = Warehouse(db_path).connect(read_only=True)
    except (WarehouseBusy, duckdb.Error):
        return False
    try:
        if not table_exists(con, "dq.batch_reconciliation"):
            return False
        for source_file, read, loaded, quarantined in con.execute(
            "select source_file, rows_read, rows_loaded, rows_quarantined from dq.batch_reconciliation "
            "where batch_id = ? order by source_file",
            [outcome.batch_id],
        ).fetchall():
            outcome.rows_read[source_file] = read
            outcome.rows_loaded[source_file] = loaded
            outcome.rows_quarantined[source_file] = quarantined
        path = con.execute(
            "select processing_path, processing_reason from raw._batches where batch_id = ?", [outcome.batch_id]
        ).fetchone() if "processing_path" in table_columns(con, "raw._batches") else None
        if path and path[0]:
            outcome.processing_path, outcome.processing_reason = path
            if path[0] == "incremental" and table_exists(con, "raw._affected_patients"):
                outcome.patients_in_scope = con.execute(
                    "select count(distinct patient_id) from raw._affected_patients where batch_id = ?",
                    [outcome.batch_id],
                ).fetchone()[0]
        if table_exists(con, "cohort.patient_flags"):
            outcome.cohort_size = con.execute("select count(*) from cohort.patient_flags").fetchone()[0]
        return True
    except duckdb.Error:
        return False
    finally:
        con.close()

