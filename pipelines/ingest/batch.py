"""Inspecting a batch folder before anything of it is loaded: files present, headers usable."""

from __future__ import annotations

import codecs
import csv
import gzip
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.contract.synthea import LAYOUTS, FileLayout

# Markers of a complete batch folder: not data.
MARKER_FILES = frozenset({"_success", "_manifest.json"})
# Files of Synthea's CSV export this pipeline does not use: ignored with a note. Anything else is reported as
# unknown on the batch line (a renamed pipeline file, e.g. medications.txt, must not go unnoticed).
SYNTHEA_OTHER_FILES = frozenset(
    f"{name}.csv"
    for name in (
        "allergies careplans claims claims_transactions devices imaging_studies immunizations organizations "
        "patient_expenses payer_transitions payers providers supplies"
    ).split()
)
_UTF16_BOMS = {codecs.BOM_UTF16_LE: "UTF-16", codecs.BOM_UTF16_BE: "UTF-16", codecs.BOM_UTF32_LE: "UTF-32"}


class BatchError(Exception):
    """The batch cannot be loaded; the message is one line naming the file and column, `code` its reason code."""

    def __init__(self, message: str, code: str = "unusable_input") -> None:
        super().__init__(message)
        self.code = code


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
    unknown_files: tuple[str, ...] = ()  # neither a pipeline file nor a known Synthea file: on the batch line


def inspect_batch(source_dir: Path, batch_id: str, allowed_root: Path | None = None) -> BatchInspection:
    """Checks every file of the batch; raises BatchError on the first unusable one.

    With `allowed_root`, the folder and every file it delivers must resolve inside that folder (a symbolic link
    may not lead elsewhere); None allows links anywhere.
    """
    if not source_dir.is_dir():
        raise BatchError(f"batch {batch_id}: folder {source_dir} does not exist", "input_missing")
    if allowed_root is not None and not _is_within(source_dir, allowed_root):
        raise BatchError(
            f"batch {batch_id}: the folder is a symbolic link leading out of {allowed_root} "
            "(setting allow_external_symlinks)",
            "unsafe_symlink",
        )
    files: dict[str, FileHeader] = {}
    notes: list[str] = []
    present = {p.name.lower(): p for p in source_dir.iterdir() if p.is_file()}
    used: set[str] = set()
    for layout in LAYOUTS.values():
        plain, packed = present.get(layout.file_name), present.get(layout.file_name + ".gz")
        if plain is not None and packed is not None:
            raise BatchError(
                f"{layout.file_name}: delivered twice, as {plain.name} and {packed.name}; keep one", "ambiguous_file"
            )
        path = plain or packed
        if path is not None:
            used.add(path.name.lower())
            if allowed_root is not None and not _is_within(path, allowed_root):
                raise BatchError(
                    f"{path.name}: a symbolic link leading out of {allowed_root} (setting allow_external_symlinks)",
                    "unsafe_symlink",
                )
            if path.stat().st_size == 0 and not layout.required_file:
                notes.append(f"{path.name}: empty (0 bytes), taken as absent")
                path = None
        if path is None:
            if layout.required_file:
                raise BatchError(f"{layout.file_name}: required file missing in batch {batch_id}", "input_missing")
            files[layout.name] = FileHeader(layout, None)
            continue
        files[layout.name] = _inspect_file(layout, path)
        if files[layout.name].extra_columns:
            extras = ", ".join(files[layout.name].extra_columns)
            notes.append(f"{layout.file_name}: extra columns kept in raw._extra_columns: {extras}")
    unknown = []
    for name in sorted(set(present) - used - MARKER_FILES):
        if name.startswith("."):
            continue
        if name in SYNTHEA_OTHER_FILES:
            notes.append(f"{name}: not used by this pipeline, ignored")
        else:
            unknown.append(present[name].name)
            notes.append(f"{present[name].name}: unknown file, ignored")
    return BatchInspection(batch_id, source_dir, files, tuple(notes), tuple(unknown))


def _is_within(path: Path, root: Path) -> bool:
    real, real_root = os.path.realpath(path), os.path.realpath(root)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _inspect_file(layout: FileLayout, path: Path) -> FileHeader:
    name = path.name
    first_line = _first_line(path)
    if not first_line.strip():
        raise BatchError(f"{name}: empty file, no header row", "invalid_header")
    for bom, encoding in _UTF16_BOMS.items():
        if first_line.startswith(bom):
            raise BatchError(f"{name}: the file is {encoding}, not UTF-8; save it as UTF-8", "not_utf8")
    if b"\x00" in first_line:
        raise BatchError(f"{name}: the header holds NUL bytes: not UTF-8 text (UTF-16?); save it as UTF-8", "not_utf8")
    if b"\r" in first_line.rstrip(b"\r\n"):
        raise BatchError(
            f"{name}: lines end with a bare carriage return (or the header holds one); use LF or CRLF line endings",
            "invalid_header",
        )
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BatchError(f"{name}: the header is not UTF-8 ({exc.reason}); save the file as UTF-8", "not_utf8") from exc
    header = tuple(next(csv.reader([text.rstrip("\r\n")])))
    by_upper = {column.strip().upper(): column for column in header}
    if len(by_upper) != len(header):
        raise BatchError(f"{layout.file_name}: duplicate column names in the header", "invalid_header")
    column_map = {col: by_upper[col.upper()] for col in layout.columns if col.upper() in by_upper}
    missing = [col for col in layout.required_columns if col not in column_map]
    if missing:
        raise BatchError(
            f"{layout.file_name}: required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing "
            f"(expected header: {','.join(layout.columns)})",
            "missing_column",
        )
    known = {c.upper() for c in layout.columns}
    extra = tuple(column for column in header if column.strip().upper() not in known)
    return FileHeader(layout, path, header, column_map, extra)


def _first_line(path: Path, limit: int = 1 << 20) -> bytes:
    """The header line as bytes (up to `limit`), decompressing a `.gz` file."""
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                return handle.readline(limit)
        with path.open("rb") as handle:
            return handle.readline(limit)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise BatchError(f"{path.name}: not a readable gzip file ({exc})", "invalid_gzip") from exc
    except OSError as exc:
        raise BatchError(f"{path.name}: cannot be read ({exc.strerror or exc})", "unreadable_file") from exc
