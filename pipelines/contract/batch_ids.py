"""Batch ids: what a batch may be called, and why the name matters.

The newest batch wins a natural key, and "newest" is the batch id's sort order, so an id is both a name and a
position in time. Two rules follow:

- Every id is safe as a file name and a Dagster partition key: letters, digits, `.`, `_`, `-`, at most 128
  characters, starting with a letter or digit (`SAFE_BATCH_ID`).
- Ids chosen by a person or taken from a folder name (the CLI, the landing folder) must also follow the batch id
  convention, `CONVENTIONAL_BATCH_ID`: they start with a digit, so that they sort with dates and sequence numbers
  rather than after them (`csv` or `delta` would sort after every date and win over later deliveries). A date,
  `YYYY-MM-DD` with an optional suffix (`2026-11-20`, `2026-11-20.2`, `2026-11-20_evening`), is recommended; a
  leading `YYYY-MM-DD` must be a real date.

A new batch whose id sorts before a batch already accepted is refused unless out-of-order loading is allowed
(`--allow-out-of-order`): its rows would silently lose to older data.
"""

from __future__ import annotations

import re
from datetime import date

SAFE_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
CONVENTIONAL_BATCH_ID = re.compile(r"^[0-9][A-Za-z0-9._-]{0,63}$")
_LEADING_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?![0-9])")
CONVENTION = "a digit first, then letters, digits, '.', '_' or '-' (64 at most); a date such as 2026-11-20 is best"


def unsafe_batch_id(batch_id: str) -> str | None:
    """Why `batch_id` cannot name a batch at all (None when it can)."""
    if not SAFE_BATCH_ID.match(batch_id):
        return f"batch id {batch_id!r} may only hold letters, digits, '.', '_' and '-' (128 at most)"
    return None


def unconventional_batch_id(batch_id: str) -> str | None:
    """Why `batch_id` does not follow the batch id convention (None when it does)."""
    problem = unsafe_batch_id(batch_id)
    if problem:
        return problem
    if not CONVENTIONAL_BATCH_ID.match(batch_id):
        return f"batch id {batch_id!r} does not follow the convention ({CONVENTION})"
    leading = _LEADING_DATE.match(batch_id)
    if leading:
        try:
            date(*(int(part) for part in leading.groups()))
        except ValueError:
            return f"batch id {batch_id!r} starts with {leading.group(0)}, which is not a calendar date"
    return None
