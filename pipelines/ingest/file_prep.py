"""A delivered file copied into the warehouse's own folder, line by line as delivered, before DuckDB reads it.

Why a copy: what is loaded is exactly what was measured. The copy is hashed and counted while it is written, so a
file truncated or rewritten after the manifest check is caught (the copy no longer matches the manifest), and a
file that changes while it is read is caught too (its size or modification time moved). DuckDB then reads the
copy, which nobody else writes.

Why line by line: DuckDB's CSV reader stops the whole file on some bytes ("CSV parser state machine reached an
invalid state"): a carriage return that does not end the line, a line ending that differs from the others, binary
garbage. Such lines are left out of the copy and reported with their physical line number and a reason code, so
one bad line costs one line. CRLF line endings are turned into LF; a UTF-8 byte order mark is dropped; a
`.csv.gz` file is decompressed on the way.

Clean stretches of the file (the common case) are handled a block of lines at a time at C speed; only a block
holding a problem is looked at line by line.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

# A line longer than this is quarantined as `line_too_long` (a Synthea record is a few hundred bytes).
MAX_LINE_BYTES = 1 << 20
RAW_RECORD_CHARS = 10_000  # quarantine.raw_record keeps this much of a bad line
# Read in blocks smaller than the line limit: a block of whole lines is then longer than the limit only when it
# holds one long line, and is checked line by line only then.
_BLOCK = 512 << 10
# Bytes a text line of a CSV file may hold (C0 controls other than TAB, LF and CR, and DEL, are binary data).
_TEXT_BYTES = bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100)) + b"\t\n\r"
_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK = re.compile(rb"\n(?=\n)")
_UTF8_BOM = b"\xef\xbb\xbf"


class FilePrepError(Exception):
    """The file cannot be copied (unreadable, not gzip, changed while read); one line, names the file."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class BadLine:
    line: int  # physical line in the delivered file, the header being line 1
    reason: str  # quarantine reason code
    detail: str
    text: str  # the line as delivered (decoded with escapes), cut to RAW_RECORD_CHARS


@dataclass
class PreparedFile:
    source: Path
    copy: Path
    sha256: str = ""  # of the bytes as delivered (compressed bytes for .csv.gz)
    bytes_read: int = 0
    lines_read: int = 0  # physical lines after the header
    blank_lines: list[int] = field(default_factory=list)  # physical line numbers
    bad_lines: list[BadLine] = field(default_factory=list)  # left out of the copy

    @property
    def removed_lines(self) -> list[int]:
        return [bad.line for bad in self.bad_lines]


class _HashingReader:
    """Reads a binary file, hashing and counting every byte that passes."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.sha = hashlib.sha256()
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.sha.update(data)
        self.count += len(data)
        return data

    def drain(self) -> None:
        while self.read(_BLOCK):
            pass


def prepare_copy(source: Path, copy: Path, *, max_line_bytes: int = MAX_LINE_BYTES) -> PreparedFile:
    """Copies `source` to `copy` without its bad lines; `.gz` sources are decompressed."""
    copy.parent.mkdir(parents=True, exist_ok=True)
    prepared = PreparedFile(source, copy)
    try:
        before = source.stat()
        with source.open("rb") as raw, copy.open("wb") as out:
            reader = _HashingReader(raw)
            stream: BinaryIO = gzip.GzipFile(fileobj=reader, mode="rb") if source.name.endswith(".gz") else reader
            _copy_lines(stream, out, prepared, max_line_bytes)
            reader.drain()  # bytes after a gzip stream still belong to the delivered file
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise FilePrepError("invalid_gzip", f"{source.name}: not a readable gzip file ({exc})") from exc
    except OSError as exc:
        raise FilePrepError("unreadable_file", f"{source.name}: cannot be read ({exc.strerror or exc})") from exc
    try:
        after = source.stat()
    except OSError as exc:
        raise FilePrepError("file_changed", f"{source.name}: disappeared while it was being read") from exc
    prepared.sha256, prepared.bytes_read = reader.sha.hexdigest(), reader.count
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or reader.count != after.st_size:
        raise FilePrepError(
            "file_changed",
            f"{source.name}: changed while it was being read ({before.st_size} bytes before, {reader.count} read, "
            f"{after.st_size} after); deliver it again",
        )
    return prepared


def _copy_lines(stream: BinaryIO, out: BinaryIO, prepared: PreparedFile, max_line_bytes: int) -> None:
    carry = b""
    header_done = False
    next_line = 1  # physical number of the first line in the next block
    overlong: bytearray | None = None  # the start of a line longer than max_line_bytes, being skipped
    while True:
        chunk = stream.read(_BLOCK)
        if overlong is not None:
            end = chunk.find(b"\n")
            if end < 0 and chunk:
                continue  # still inside the long line
            _add_long_line(prepared, next_line, overlong)
            next_line += 1
            overlong = None
            chunk = chunk[end + 1:] if end >= 0 else b""
        data = carry + chunk
        if not chunk:  # end of file: the last line may lack its newline
            if data:
                data += b"\n"
            else:
                break
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            if len(data) > max_line_bytes:
                overlong, carry = bytearray(data[:RAW_RECORD_CHARS]), b""
            else:
                carry = data
            continue
        block, carry = data[:cut], data[cut:]
        if not header_done:
            end = block.find(b"\n") + 1
            header = block[:end].removeprefix(_UTF8_BOM)
            out.write(header.replace(b"\r\n", b"\n"))
            block, header_done, next_line = block[end:], True, 2
        next_line = _copy_block(block, out, prepared, next_line, max_line_bytes)
        if not chunk:
            break
    if overlong is not None:
        _add_long_line(prepared, next_line, overlong)
        next_line += 1
    prepared.lines_read = max(next_line - 2, 0)


def _copy_block(block: bytes, out: BinaryIO, prepared: PreparedFile, first_line: int, max_line_bytes: int) -> int:
    """Writes whole lines `block` (ends with a newline); returns the number of the line after it."""
    if not block:
        return first_line
    lines = block.count(b"\n")
    # Checks at C speed (translate, count; a regular expression is 30x slower here): no control byte, every CR
    # ends a line, valid UTF-8, no line over the limit.
    clean = not block.translate(None, _TEXT_BYTES)
    if clean and b"\r" in block:
        clean = block.count(b"\r") == block.count(b"\r\n")
        block = block.replace(b"\r\n", b"\n") if clean else block
    clean = clean and (block.isascii() or _is_utf8(block))
    if clean and len(block) > max_line_bytes:
        clean = max(map(len, block.split(b"\n"))) <= max_line_bytes
    if clean:
        out.write(block)
        if block[0] == 10 or b"\n\n" in block:
            if block[0] == 10:
                prepared.blank_lines.append(first_line)
            prepared.blank_lines.extend(
                first_line + block.count(b"\n", 0, m.start()) + 1 for m in _BLANK.finditer(block)
            )
        return first_line + lines
    for offset, line in enumerate(block.split(b"\n")[:-1]):
        number = first_line + offset
        problem = _line_problem(line, max_line_bytes)
        if problem is None:
            text = line.removesuffix(b"\r")
            out.write(text + b"\n")
            if not text:
                prepared.blank_lines.append(number)
        else:
            prepared.bad_lines.append(BadLine(number, problem[0], problem[1], _shown(line)))
    return first_line + lines


def _line_problem(line: bytes, max_line_bytes: int) -> tuple[str, str] | None:
    if len(line) > max_line_bytes:
        return "line_too_long", f"line of {len(line)} bytes, more than the {max_line_bytes} allowed"
    body = line.removesuffix(b"\r")
    if b"\x00" in body:
        return "binary_data", "NUL byte in the line: binary data, or a UTF-16 file"
    if _CONTROLS.search(body):
        return "binary_data", "control characters in the line: binary data"
    if b"\r" in body:
        return "stray_carriage_return", "carriage return inside the line (only CRLF or LF may end a line)"
    if not _is_utf8(body):
        return "invalid_encoding", "not valid UTF-8 (files must be UTF-8)"
    return None


def _add_long_line(prepared: PreparedFile, number: int, start: bytes | bytearray) -> None:
    detail = f"line longer than {MAX_LINE_BYTES} bytes"
    prepared.bad_lines.append(BadLine(number, "line_too_long", detail, _shown(bytes(start))))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _shown(line: bytes) -> str:
    return line[: RAW_RECORD_CHARS * 4].decode("utf-8", errors="backslashreplace")[:RAW_RECORD_CHARS]


# --- the careful path: records found by their quotes, for files whose records are not one per line ------------

MAX_RECORD_LINES = 1_000  # a quoted field spanning more lines than this is taken for an unterminated quote


@dataclass
class RecordSplit:
    """The records of a prepared copy, each a valid CSV record of the header's width, written to `path`."""

    path: Path
    starts: list[int] = field(default_factory=list)  # physical line on which each written record starts
    continued_lines: int = 0  # lines after the first of the multi-line records written
    blank_lines: list[int] = field(default_factory=list)  # blank physical lines outside quoted fields
    bad_lines: list[BadLine] = field(default_factory=list)  # records left out, by their first physical line


def split_records(prepared: PreparedFile, target: Path, fields: int) -> RecordSplit:
    """Rewrites the copy as whole records only, telling each record's physical first line.

    A line with an odd number of quotes opens a quoted field that continues on the next lines. When no
    well-formed record of `fields` fields closes it within MAX_RECORD_LINES lines (or MAX_LINE_BYTES), the quote
    was never terminated: that line alone is quarantined (`unterminated_quote`) and reading resumes on the next
    line, so one stray quote costs one line instead of the rest of the file.
    """
    split = RecordSplit(target, blank_lines=[])
    removed = prepared.removed_lines
    with prepared.copy.open("rb") as source, target.open("wb") as out:
        out.write(source.readline())  # the header
        lines = _numbered_lines(source, removed)
        pending: list[tuple[int, bytes]] = []

        def take() -> tuple[int, bytes] | None:
            return pending.pop() if pending else next(lines, None)

        while (item := take()) is not None:
            number, text = item
            if not text:
                split.blank_lines.append(number)
                continue
            record, consumed = [text], []
            odd = text.count(b'"') & 1
            size = len(text)
            while odd and len(record) < MAX_RECORD_LINES and size <= MAX_LINE_BYTES:
                following = take()
                if following is None:
                    break
                consumed.append(following)
                record.append(following[1])
                size += len(following[1]) + 1
                odd ^= following[1].count(b'"') & 1
            problem = _record_problem(record, fields, unterminated=bool(odd))
            if problem is None:
                out.write(b"\n".join(record) + b"\n")
                split.starts.append(number)
                split.continued_lines += len(record) - 1
                continue
            if len(record) > 1:  # the first line alone is bad: read the others again
                pending.extend(reversed(consumed))
                problem = ("unterminated_quote", "quoted field never closed on this line; the line is left out")
            split.bad_lines.append(BadLine(number, problem[0], problem[1], _shown(text)))
    return split


def _numbered_lines(source: BinaryIO, removed: list[int]):
    """Lines of the copy after its header with their physical numbers (lines left out of the copy skipped)."""
    gaps = iter(removed)
    gap = next(gaps, None)
    number = 1
    for raw in source:
        number += 1
        while gap is not None and gap <= number:
            if gap == number:
                number += 1
            gap = next(gaps, None)
        yield number, raw.rstrip(b"\n")


def _record_problem(record: list[bytes], fields: int, unterminated: bool) -> tuple[str, str] | None:
    if unterminated:
        return "unterminated_quote", "quoted field never closed"
    text = b"\n".join(record).decode("utf-8")
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        return "unparseable_row", f"not a valid CSV record: {exc}"
    if len(rows) != 1:
        return "unparseable_row", "not a single CSV record"
    found = len(rows[0])
    if found > fields:
        return "too_many_fields", f"Expected Number of Columns: {fields} Found: {found}"
    if found < fields:
        return "too_few_fields", f"Expected Number of Columns: {fields} Found: {found}"
    return None
