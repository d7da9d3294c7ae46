"""Inspecting a batch folder before anything of it is loaded: files present, headers usable."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.ingest.layout import LAYOUTS, FileLayout


class BatchError(Exception):
    """The batch cannot be loaded; the message is one line naming the file and column."""


@dataclass(frozen=True)
class FileHeader:
    layout: FileLayout
    path: Path | None  # None: optional file absent (no rows)
    header: tuple[str, ...] = ()  # column names as written in the file, in file order
    column_map: dict[str, str] = field(default_factory=dict)  # canonical name -> name in the file
    extra_columns: tuple[str, ...] = ()  # in the file, unknown to the layout: kept in raw._extra_columns


@dataclass(frozen=True)
class BatchInspection:
    batch_id: str
    source_dir: Path
    files: dict[str, FileHeader]
    notes: tuple[str, ...]  # ignored files, extra columns: logged, never fatal


def inspect_batch(source_dir: Path, batch_id: str) -> BatchInspection:
    """Checks every file of the batch; raises BatchError on the first unusable one."""
    if not source_dir.is_dir():
        raise BatchError(f"batch {batch_id}: folder {source_dir} does not exist")
    files: dict[str, FileHeader] = {}
    notes: list[str] = []
    present = {p.name.lower(): p for p in source_dir.iterdir() if p.is_file()}
    for layout in LAYOUTS.values():
        path = present.get(layout.file_name)
        if path is None:
            if layout.required_file:
                raise BatchError(f"{layout.file_name}: required file missing in batch {batch_id}")
            files[layout.name] = FileHeader(layout, None)
            continue
        files[layout.name] = _inspect_file(layout, path)
        if files[layout.name].extra_columns:
            extras = ", ".join(files[layout.name].extra_columns)
            notes.append(f"{layout.file_name}: extra columns kept in raw._extra_columns: {extras}")
    known = {layout.file_name for layout in LAYOUTS.values()}
    for name in sorted(present):
        if name.endswith(".csv") and name not in known:
            notes.append(f"{name}: not used by this pipeline, ignored")
    return BatchInspection(batch_id, source_dir, files, tuple(notes))


def _inspect_file(layout: FileLayout, path: Path) -> FileHeader:
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        first_line = handle.readline()
    if not first_line.strip():
        raise BatchError(f"{layout.file_name}: empty file, no header row")
    header = tuple(next(csv.reader([first_line])))
    by_upper = {name.strip().upper(): name for name in header}
    if len(by_upper) != len(header):
        raise BatchError(f"{layout.file_name}: duplicate column names in the header")
    column_map = {col: by_upper[col.upper()] for col in layout.columns if col.upper() in by_upper}
    for col in layout.required_columns:
        if col not in column_map:
            raise BatchError(f"{layout.file_name}: required column {col} missing")
    known = {c.upper() for c in layout.columns}
    extra = tuple(name for name in header if name.strip().upper() not in known)
    return FileHeader(layout, path, header, column_map, extra)
