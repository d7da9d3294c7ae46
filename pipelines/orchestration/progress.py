"""One line per finished step while the CLI runs a batch (`step staging_observations done 4.2 s`), so a run of
minutes is not silent between "batch started" and "batch finished". Dagster's own console output stays off; the
lines go through the project's logging (text on a terminal, JSON otherwise)."""

from __future__ import annotations

import logging

import dagster as dg

PROGRESS_LOG = logging.getLogger("pipelines.progress")
_ENDS = {"STEP_SUCCESS": "done", "STEP_FAILURE": "failed"}


class _StepEnds(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        event = (getattr(record, "dagster_meta", None) or {}).get("dagster_event")
        word = _ENDS.get(getattr(event, "event_type_value", None))
        if word is None:
            return
        duration = getattr(event.event_specific_data, "duration_ms", None)
        seconds = round(duration / 1000, 1) if duration is not None else None
        PROGRESS_LOG.log(
            logging.INFO if word == "done" else logging.WARNING,
            f"step {event.step_key} {word}" + (f" {seconds} s" if seconds is not None else ""),
            extra={"event": "step_end", "step": event.step_key, "seconds": seconds},
        )


@dg.logger(description="one line per finished step, through the project's logging (the CLI's runs)")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.getLogger("cramp_cohort.dagster_progress")
    logger.propagate = False  # only the step ends leave, through PROGRESS_LOG
    logger.handlers = [_StepEnds()]
    logger.setLevel(logging.DEBUG)
    return logger
