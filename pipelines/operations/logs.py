"""Structured logging: one JSON object (or key=value line) per record, no patient data at INFO and above.

Fields passed with `extra={...}` become top-level keys. Fields whose names mark patient identifiers or raw
values (`patient_id`, `raw_record`, `value`, ...) are replaced by "<redacted>" unless the record is DEBUG,
so a stray `extra={"patient_id": ...}` in an INFO line cannot leak into a log file shipped to a log service.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

REDACTED = "<redacted>"
SENSITIVE_FIELDS = frozenset(
    {
        "patient",
        "patient_id",
        "patient_ids",
        "encounter_id",
        "ssn",
        "name",
        "first",
        "last",
        "address",
        "birth_date",
        "birthdate",
        "raw_record",
        "record",
        "row",
        "value",
        "value_text",
        "values",
    }
)
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_HANDLER_MARK = "_cramp_cohort_handler"


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields of a record (time, level, logger, message, extras), redacted above DEBUG."""
    out: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "logger": record.name,
        "msg": record.getMessage(),
    }
    for key, value in record.__dict__.items():
        if key in _STANDARD or key.startswith("_"):
            continue
        out[key] = REDACTED if record.levelno > logging.DEBUG and key.lower() in SENSITIVE_FIELDS else value
    if record.exc_info:
        out["exc"] = logging.Formatter().formatException(record.exc_info)
    return out


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(record_fields(record), default=str, ensure_ascii=False)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_kv(v)}" for k, v in record_fields(record).items())


class TextFormatter(logging.Formatter):
    """For a person at a terminal: time, level, message, then the fields as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        fields = record_fields(record)
        stamp = fields.pop("ts")[11:19]
        level, message = fields.pop("level"), fields.pop("msg")
        fields.pop("logger")
        fields.pop("event", None)
        # fields the message already says (a step's name and time) are not repeated
        rest = " ".join(f"{k}={_kv(v)}" for k, v in fields.items() if k != "exc" and f" {v}" not in f" {message}")
        text = f"{stamp} {level:<7} {message}" + (f"  {rest}" if rest else "")
        return text + (f"\n{fields['exc']}" if "exc" in fields else "")


def resolve_format(fmt: str, stream: TextIO) -> str:
    """`auto` is text on a terminal and JSON otherwise (cron mail, a log collector)."""
    if fmt != "auto":
        return fmt
    return "text" if getattr(stream, "isatty", lambda: False)() else "json"


def _kv(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return json.dumps(text) if (not text or any(c in text for c in ' "=\n')) else text


NOISY_LIBRARIES = ("great_expectations", "sqlalchemy", "alembic", "urllib3")


def _quiet_libraries(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.ERROR or not record.name.startswith(NOISY_LIBRARIES)


FORMATTERS = {"json": JsonFormatter, "keyvalue": KeyValueFormatter, "text": TextFormatter}


def configure_logging(level: str | int = "INFO", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Install one structured handler on the root logger (idempotent: replaces the one installed before)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(handler)
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(FORMATTERS[resolve_format(fmt.lower(), stream)]())
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    # Libraries chat at INFO (GX logs every expectation it builds, and sets its own logger levels on import):
    # only their errors reach the batch log.
    handler.addFilter(_quiet_libraries)
