"""`process_batch`: land one batch and rebuild everything downstream of it, rolling the warehouse back when a step
before the batch's acceptance fails."""

import dagster as dg

from pipelines.ingest.lifecycle import reject_pending

# Steps before acceptance: when one fails, the pending batch is rejected and the warehouse rolled back.
_BATCH_STEP_PREFIXES = ("landed_batch", "raw_", "staging_", "validate_", "accepted_batch")
PROCESS_JOB = "process_batch"


@dg.failure_hook(required_resource_keys={"warehouse"})
def reject_pending_batch(context: dg.HookContext) -> None:
    """A step before acceptance failed: roll the warehouse back to the last accepted state, now (not at the next
    run), and record why on the batch."""
    if not (context.step_key or "").startswith(_BATCH_STEP_PREFIXES):
        return
    error = context.op_exception
    reason = getattr(error, "description", None) or f"{type(error).__name__}: {error}"
    try:
        with context.resources.warehouse.connect() as con:
            reject_pending(con, f"{context.step_key}: {reason}".splitlines()[0])
    except Exception as exc:  # warehouse busy or unreadable: the next run rolls back instead
        context.log.warning(f"could not roll back the pending batch now ({exc}); the next run will")


process_batch = dg.define_asset_job(
    PROCESS_JOB,
    selection=dg.AssetSelection.all(),
    description="Land one batch and rebuild everything downstream of it.",
    hooks={reject_pending_batch},
)
