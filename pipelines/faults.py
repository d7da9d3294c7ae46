"""Fault points: where the fault-injection tests stop a run dead, as a power cut or `kill -9` would.

A test sets `CRAMP_COHORT_FAULT_AT=<stage>` for a CLI process; when that process reaches the point of that name it
kills itself with SIGKILL (no cleanup, no `finally`), in the middle of the stage. Stages: `raw_load` (a batch file
landed, not yet swapped in), `staging` (one staging table replaced, the others not), `validation` (rows moved to
quarantine), `cohort` (one cohort table rebuilt), `publish` (snapshot written, not switched), `publish_switch`
(snapshot folder in place, `current` not yet switched). A test hook only: never set it in production.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "CRAMP_COHORT_FAULT_AT"


def fault_point(stage: str) -> None:
    """Dies here when the environment asks for a fault at `stage` (otherwise costs one dictionary lookup)."""
    if os.environ.get(FAULT_ENV) == stage:
        os.kill(os.getpid(), signal.SIGKILL)
