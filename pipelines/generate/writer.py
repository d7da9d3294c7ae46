"""Appends chunk frames to the batch CSV files (UTF-8, RFC 4180 quoting, header row) and tracks line numbers."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from pipelines.generate.defects import DROP_FIELD, EXTRA_FIELD, LATIN1
from pipelines.generate.tables import COLUMNS

_MARKERS = ((f",{DROP_FIELD}".encode(), b""), (EXTRA_FIELD.encode(), b","), (LATIN1.encode(), b"\xe9"))


class ExtractWriter:
    """One CSV per (batch, table); `batch_dirs[b]` is the folder of batch b."""

    def __init__(self, batch_dirs: list[Path]) -> None:
        self.batch_dirs = batch_dirs
        self.rows: dict[tuple[int, str], int] = {}

    def path(self, batch: int, table: str) -> Path:
        return self.batch_dirs[batch] / f"{table}.csv"

    def write(self, batch: int, table: str, frame: pl.DataFrame) -> int:
        """Appends the rows (Synthea columns only) and returns the file line of the first one (header = line 1)."""
        key = (batch, table)
        first_write = key not in self.rows
        data = frame.select(COLUMNS[table])
        with open(self.path(batch, table), "wb" if first_write else "ab") as fh:
            if _has_markers(frame):
                buffer = io.BytesIO()
                data.write_csv(buffer, include_header=first_write, null_value="")
                raw = buffer.getvalue()
                for marker, replacement in _MARKERS:
                    raw = raw.replace(marker, replacement)
                fh.write(raw)
            else:
                data.write_csv(fh, include_header=first_write, null_value="")
        first_line = 2 + self.rows.get(key, 0)
        self.rows[key] = self.rows.get(key, 0) + frame.height
        return first_line

    def ensure_headers(self) -> None:
        """Every batch gets every file, even with no rows (a header-only file)."""
        for batch in range(len(self.batch_dirs)):
            for table in COLUMNS:
                if (batch, table) not in self.rows:
                    self.write(batch, table, pl.DataFrame(schema={c: pl.String for c in COLUMNS[table]}))


def _has_markers(frame: pl.DataFrame) -> bool:
    if "_defect" not in frame.columns:
        return False
    return frame.select(pl.col("_defect").is_in(["too_many_fields", "too_few_fields", "invalid_encoding"]).any()).item()
