"""Batch processing for cron users: every new complete landing batch once, in order; reprocessing on demand.

`run` is the runner (`pipelines.orchestration.runner.run_batch` bound to settings); it is passed in so this module stays
free of Dagster imports and the same loop serves `cramp-cohort run --landing` and `reprocess_all`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from pipelines.contract.manifest import MANIFEST_NAME, verify_manifest
from pipelines.operations import ledger
from pipelines.operations.after_run import finish_batch_run
from pipelines.operations.landing import PIPELINE_FILES, LandedBatch, batch_fingerprint, scan_landing
from pipelines.operations.outcome import BatchOutcome
from pipelines.operations.summary import format_outcome_line
from pipelines.settings import Settings
from pipelines.warehouse import WarehouseBusy, holding_warehouse

log = logging.getLogger(__name__)

RunFn = Callable[[Path, str], BatchOutcome]


def process_landing(
    landing_dir: Path,
    settings: Settings,
    run: RunFn,
    *,
    echo: Callable[[str], None] = print,
) -> list[BatchOutcome]:
    """Run every complete batch under `landing_dir` not yet processed successfully with the same delivery.

    Batches go in name order (= delivery order). A failed batch does not stop the later ones (each extract
    stands alone; the newest batch still wins), and it is retried on the next call until it succeeds or its
    delivery changes. Prints one line per batch and one per broken folder. Raises WarehouseBusy when another
    run holds the warehouse (nothing is run then).
    """
    with holding_warehouse(settings.db_path, f"run --landing {landing_dir}"):
        return _process_landing(landing_dir, settings, run, echo)


def _process_landing(landing_dir: Path, settings: Settings, run: RunFn, echo: Callable[[str], None]):
    scan = scan_landing(landing_dir, allow_external_symlinks=settings.allow_external_symlinks)
    for pending in scan.pending:
        if pending.problem:
            echo(f"{pending.batch_id} NOT COMPLETE {pending.reason}")
        log.info(
            "batch not complete",
            extra={"event": "landing_pending", "batch_id": pending.batch_id, "reason": pending.reason},
        )
    done = ledger.processed_fingerprints(settings.db_path)
    todo = [b for b in scan.complete if b.fingerprint not in done.get(b.batch_id, set())]
    if not todo:
        echo(f"no new complete batch in {landing_dir}")
    return [_process(batch, settings, run, echo, origin="landing") for batch in todo]


def reprocess_all(
    settings: Settings,
    run: RunFn,
    batch_ids: Iterable[str] | None = None,
    *,
    echo: Callable[[str], None] = print,
) -> list[BatchOutcome]:
    """Re-run batches regardless of the ledger (all known batches, or `batch_ids`), in name order, each under its
    own batch id (whatever its folder is called).

    Known batches are every batch the warehouse has seen (ledger and `raw._batches`, including batches that came
    through `run --input`, which need no completeness marker) plus the landing folder's complete batches. Use
    after a value-set or phenotype change; re-running a batch is an exact replacement of its rows, never a double
    count. Raises WarehouseBusy when another run holds the warehouse.
    """
    with holding_warehouse(settings.db_path, "reprocess"):
        known = ledger.known_batches(settings.db_path)
        landing = {
            b.batch_id: b
            for b in scan_landing(
                settings.landing_dir, allow_external_symlinks=settings.allow_external_symlinks
            ).complete
        }
        wanted = sorted(set(known) | set(landing)) if batch_ids is None else sorted(set(batch_ids))
        if not wanted:
            echo(f"nothing to reprocess: {settings.db_path} knows no batch and {settings.landing_dir} holds none")
        outcomes: list[BatchOutcome] = []
        for batch_id in wanted:
            batch, problem = _reprocess_source(batch_id, known.get(batch_id), landing.get(batch_id), settings)
            if batch is None:
                outcome = BatchOutcome.not_run(batch_id, problem, "input_missing")
                echo(format_outcome_line(outcome))
                outcomes.append(outcome)
                continue
            outcomes.append(_process(batch, settings, run, echo, origin="reprocess"))
        return outcomes


def _reprocess_source(
    batch_id: str, known: Path | None, landed: LandedBatch | None, settings: Settings
) -> tuple[LandedBatch | None, str]:
    """Where to re-run a batch from: the folder the warehouse last loaded it from, else its landing folder."""
    if known is not None and known.is_dir():
        if (known / MANIFEST_NAME).is_file():  # a manifest must still verify
            check = verify_manifest(known, expected_files=PIPELINE_FILES)
            if not check.ok:
                return None, f"source folder {known}: manifest mismatch: " + "; ".join(check.problems)
        return LandedBatch(batch_id, known, batch_fingerprint(known), completed_by="reprocess"), ""
    if landed is not None:
        return landed, ""
    source = known or settings.landing_dir / batch_id
    return None, f"source folder {source} is missing or not a complete batch"


def process_folder(
    folder: Path,
    batch_id: str,
    settings: Settings,
    run: RunFn,
    *,
    echo: Callable[[str], None] = print,
) -> BatchOutcome:
    """One batch folder named on the command line (`run --input`): no completeness marker needed, but the
    same run summary, ledger entry and failure hook as a landing batch. Raises WarehouseBusy when another run
    holds the warehouse."""
    with holding_warehouse(settings.db_path, f"run --input {folder}"):
        batch = LandedBatch(batch_id, folder, batch_fingerprint(folder), completed_by="command line")
        return _process(batch, settings, run, echo, origin="input")


def report_busy(
    busy: WarehouseBusy,
    settings: Settings,
    batch_id: str,
    *,
    source_dir: Path | None = None,
    origin: str,
    echo: Callable[[str], None] = print,
) -> BatchOutcome:
    """Nothing could run because another run holds the warehouse: the one line, a run summary, a ledger row
    (kept pending until the warehouse is free; only when a batch was named) and the failure hook."""
    outcome = BatchOutcome.not_run(batch_id, str(busy), "warehouse_busy")
    finish_batch_run(
        outcome, settings, source_dir=source_dir, fingerprint=None, origin=origin, record=source_dir is not None
    )
    echo(format_outcome_line(outcome))
    return outcome


def exit_code(outcomes: Iterable[BatchOutcome]) -> int:
    """0 when every batch succeeded, 1 when any failed (a blocking check, unusable input, a crash)."""
    return 0 if all(o.success for o in outcomes) else 1


def _process(
    batch: LandedBatch, settings: Settings, run: RunFn, echo: Callable[[str], None], origin: str
) -> BatchOutcome:
    log.info("batch started", extra={"event": "batch_start", "batch_id": batch.batch_id, "origin": origin})
    try:
        outcome = run(batch.path, batch.batch_id)
    except WarehouseBusy as exc:
        outcome = BatchOutcome.not_run(batch.batch_id, str(exc), "warehouse_busy")
    except Exception as exc:  # one crashing batch must still be reported and not stop the rest
        log.exception("batch crashed", extra={"event": "batch_crash", "batch_id": batch.batch_id})
        outcome = BatchOutcome.not_run(batch.batch_id, f"{type(exc).__name__}: {' '.join(str(exc).split())}", "crashed")
    finish_batch_run(outcome, settings, source_dir=batch.path, fingerprint=batch.fingerprint, origin=origin)
    echo(format_outcome_line(outcome))
    return outcome
