"""Landing one file of one batch: its records, all text, in a table of their own (see raw_views.py).

A batch's file is replaced in one transaction: re-running a batch never duplicates rows and a crash never
leaves half of it. Records DuckDB cannot parse go to quarantine.rows with the original line.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.contract.manifest import manifest_entries
from pipelines.faults import fault_point
from pipelines.ingest.affected import record_affected_patients
from pipelines.ingest.batch import BatchError, FileHeader
from pipelines.ingest.file_prep import BadLine, FilePrepError, PreparedFile, prepare_copy, split_records
from pipelines.ingest.quarantine import insert_parse_rejects
from pipelines.ingest.raw_views import (
    batch_table,
    batch_table_exists,
    batch_table_name,
    ensure_raw_view,
    rebuild_raw_view,
    register_batch_table,
)
from pipelines.ingest.restore_point import set_aside_raw
from pipelines.warehouse import quote_ident, quote_literal, transaction

# DuckDB's reject error types -> our quarantine reason codes.
PARSE_REASONS = {
    "TOO MANY COLUMNS": "too_many_fields",
    "MISSING COLUMNS": "too_few_fields",
    "INVALID ENCODING": "invalid_encoding",
    "INVALID UNICODE": "invalid_encoding",
    "LINE SIZE OVER MAXIMUM": "line_too_long",
}
REJECTS = "_rejects"  # temp table: DuckDB's rejected records of the scan
REJECT_SCANS = "_reject_scans"
NEXT = "__next"  # suffix of a batch table being written, before it replaces the current one
DUCKDB_MAX_LINE_SIZE = 8 << 20  # above file_prep's line limit: DuckDB never cuts a record the copy kept


@dataclass(frozen=True)
class RawLoadResult:
    rows_loaded: int
    rows_rejected: int


@dataclass
class _Landed:
    """What one file's landing found, before it is swapped in."""

    bad_lines: list[BadLine]
    shifts: dict[int, int]  # threshold -> shift of raw._line_shifts
    measures: dict[str, object] = field(default_factory=dict)


def inbox_dir(con: duckdb.DuckDBPyConnection) -> Path:
    """The warehouse's own folder for copies of delivered files (next to the DuckDB file)."""
    row = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()
    if row and row[0]:
        warehouse = Path(row[0])
        return warehouse.parent / f".{warehouse.name}.inbox"
    return Path(tempfile.gettempdir()) / "cramp-cohort-inbox"


def load_raw_file(
    con: duckdb.DuckDBPyConnection, batch_id: str, file: FileHeader, record_scope: bool = False
) -> RawLoadResult:
    """Replaces this batch's rows of one file in raw and its parse rejects in quarantine.

    The file is first copied into the warehouse's inbox (file_prep.py): lines DuckDB cannot read are left out
    and quarantined with their physical line, and what is loaded is what was measured (and checked against the
    manifest). Raises BatchError when the file cannot be used at all. With `record_scope` (an incremental run),
    the patients the new delivery and the one it replaces can change join the batch's scope (affected.py).
    """
    layout = file.layout
    ensure_raw_view(con, layout)
    incoming = batch_table(layout, batch_id, NEXT)
    workdir = inbox_dir(con) / batch_id / layout.name
    try:
        # Written outside the transaction under a private name: DuckDB scans tables made inside one about 2x
        # slower. The transaction only swaps it in.
        landed = _land(con, file, incoming, workdir) if file.path is not None else None
        fault_point("raw_load")
        if record_scope:
            delivered = [(layout.name, incoming)] if landed is not None else []
            if batch_table_exists(con, layout, batch_id):  # the delivery this one replaces
                delivered.append((layout.name, batch_table(layout, batch_id)))
            record_affected_patients(con, batch_id, delivered)
        with transaction(con):
            set_aside_raw(con, layout, batch_id)
            result = RawLoadResult(0, 0)
            if landed is not None:
                insert_parse_rejects(con, batch_id, layout.file_name, landed.bad_lines)
                _record_line_shifts(con, batch_id, layout.file_name, landed.shifts)
                rows = con.execute(f"select count(*) from {incoming}").fetchone()[0]
                con.execute(f"alter table {incoming} rename to {quote_ident(batch_table_name(layout, batch_id))}")
                register_batch_table(con, layout, batch_id, rows, len(landed.bad_lines), measures=landed.measures)
                result = RawLoadResult(rows, len(landed.bad_lines))
            rebuild_raw_view(con, layout)
    finally:
        con.execute(f"drop table if exists {incoming}")
        for table in (REJECTS, REJECT_SCANS):
            con.execute(f"drop table if exists temp.{table}")
        shutil.rmtree(workdir, ignore_errors=True)
        for folder in (workdir.parent, workdir.parent.parent):  # the batch's folder, then the inbox, when empty
            try:
                folder.rmdir()
            except OSError:
                break
    return result


def _land(con: duckdb.DuckDBPyConnection, file: FileHeader, target: str, workdir: Path) -> _Landed:
    """Copies, measures and loads the file into `target`; its bad lines and line steps for the swap."""
    assert file.path is not None
    shutil.rmtree(workdir, ignore_errors=True)
    try:
        prepared = prepare_copy(file.path, workdir / file.layout.file_name)
    except FilePrepError as exc:
        raise BatchError(str(exc), exc.code) from exc
    manifest = _manifest_entry(file.path)
    if manifest is not None and "sha256" in manifest and str(manifest["sha256"]).lower() != prepared.sha256:
        raise BatchError(
            f"{file.path.name}: the bytes read (sha256 {prepared.sha256[:12]}…) are not the ones the manifest lists: "
            "the file changed after delivery",
            "file_changed",
        )
    landed = _land_fast(con, file, prepared, target)
    if landed is None:  # records spanning lines, or lines DuckDB could not place: find the records ourselves
        landed = _land_careful(con, file, prepared, target, workdir)
    rows_read = landed.measures["rows_read"]
    if manifest is not None and "rows" in manifest:
        expected = _as_int(manifest["rows"])
        if expected not in (prepared.lines_read, rows_read):
            raise BatchError(
                f"{file.path.name}: {prepared.lines_read} lines ({rows_read} records) read, the manifest says "
                f"{manifest['rows']}: the file changed after delivery",
                "file_changed",
            )
    landed.measures.update(
        delivered_as=file.path.name,
        bytes_read=prepared.bytes_read,
        sha256=prepared.sha256,
        lines_read=prepared.lines_read,
    )
    return landed


def _land_fast(con: duckdb.DuckDBPyConnection, file: FileHeader, prepared: PreparedFile, target: str) -> _Landed | None:
    """One record per line (the common case): DuckDB reads the copy; None when its records do not add up to the
    copy's lines (a quoted field spans lines, or a quote was never closed)."""
    try:
        _read_csv(con, file, prepared.copy, target)
    except duckdb.InvalidInputException:
        return None
    rejects = _rejects(con)
    rows = con.execute(f"select count(*) from {target}").fetchone()[0]
    copy_lines = prepared.lines_read - len(prepared.bad_lines)
    if rows + len(rejects) + len(prepared.blank_lines) != copy_lines:
        return None
    removed = prepared.removed_lines
    bad = list(prepared.bad_lines)
    for copy_line, error_type, message, text in rejects:
        bad.append(BadLine(_physical(copy_line, removed), _reason(error_type, message), message, text))
    bad.sort(key=lambda b: b.line)
    skipped = sorted([b.line for b in bad] + prepared.blank_lines)
    measures = {"rows_read": rows + len(bad), "lines_blank": len(prepared.blank_lines), "lines_continued": 0}
    return _Landed(bad, _shifts_from_skipped(skipped), measures)


def _land_careful(
    con: duckdb.DuckDBPyConnection, file: FileHeader, prepared: PreparedFile, target: str, workdir: Path
) -> _Landed:
    split = split_records(prepared, workdir / f"{file.layout.name}.records.csv", len(file.header))
    con.execute(f"drop table if exists {target}")
    try:
        _read_csv(con, file, split.path, target)
    except duckdb.InvalidInputException as exc:
        raise BatchError(f"{file.path.name}: could not be read even line by line ({exc})".splitlines()[0],
                         "unparseable_file") from exc
    rejects = _rejects(con)
    rows = con.execute(f"select count(*) from {target}").fetchone()[0]
    if rows + len(rejects) != len(split.starts) or any(not 2 <= r[0] <= len(split.starts) + 1 for r in rejects):
        raise BatchError(
            f"{file.path.name}: {len(split.starts)} records found, DuckDB read {rows} and rejected {len(rejects)}",
            "unparseable_file",
        )
    # The copy holds whole records only, no blank line: DuckDB's line n is the (n - 1)-th record.
    rejected = {line - 1 for line, *_ in rejects}
    bad = list(prepared.bad_lines) + split.bad_lines
    for line, error_type, message, text in rejects:
        bad.append(BadLine(split.starts[line - 2], _reason(error_type, message), message, text))
    bad.sort(key=lambda b: b.line)
    starts = [start for ordinal, start in enumerate(split.starts, 1) if ordinal not in rejected]
    measures = {
        "rows_read": rows + len(bad),
        "lines_blank": len(split.blank_lines),
        "lines_continued": split.continued_lines,
    }
    return _Landed(bad, _shifts_from_starts(starts), measures)


def _manifest_entry(path: Path) -> dict | None:
    try:
        entries = manifest_entries(path.parent)
    except ValueError as exc:
        raise BatchError(str(exc), "file_changed") from exc
    if entries is None:
        return None
    by_name = {name.lower(): spec for name, spec in entries.items()}
    return by_name.get(path.name.lower())


def _as_int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _rejects(con: duckdb.DuckDBPyConnection) -> list[tuple[int, str, str, str]]:
    """DuckDB's rejected records of the last scan: one per line, its first error."""
    return con.execute(
        f"""
        select line, error_type::varchar, error_message, csv_line
        from temp.{REJECTS}
        qualify row_number() over (partition by line order by column_idx) = 1
        order by line
        """
    ).fetchall()


def _reason(error_type: str, message: str) -> str:
    kind = error_type.upper()
    if kind == "UNQUOTED VALUE" and "unterminated" in (message or "").lower():
        return "unterminated_quote"
    return PARSE_REASONS.get(kind, "unparseable_row")


def _physical(copy_line: int, removed: list[int]) -> int:
    """The delivered file's line number of a line of the copy (which left the `removed` lines out)."""
    line = copy_line
    for gap in removed:
        if gap > line:
            break
        line += 1
    return line


def _shifts_from_skipped(skipped: list[int]) -> dict[int, int]:
    """Line steps from the lines that hold no landed record: with such lines s_1 < s_2 < …, the k-th landed
    record follows m of them, m = max{j : s_j − j ≤ k}."""
    steps: dict[int, int] = {}
    for j, line in enumerate(skipped, 1):
        steps[line - j] = j
    return steps


def _shifts_from_starts(starts: list[int]) -> dict[int, int]:
    """Line steps from each landed record's first line (record k would be on line k + 1 with no gaps)."""
    steps: dict[int, int] = {}
    previous = 0
    for k, start in enumerate(starts, 1):
        shift = start - (k + 1)
        if shift != previous:
            steps[k] = shift
            previous = shift
    return steps


def _record_line_shifts(con: duckdb.DuckDBPyConnection, batch_id: str, file_name: str, shifts: dict[int, int]) -> None:
    """Records after a line that holds none are numbered as if it were not there: keep the steps that move them."""
    if not shifts:
        return
    thresholds = sorted(shifts)
    con.execute(
        "insert into raw._line_shifts select ?, ?, unnest(?), unnest(?)",
        [batch_id, file_name, thresholds, [shifts[t] for t in thresholds]],
    )


def _read_csv(con: duckdb.DuckDBPyConnection, file: FileHeader, path: Path, target: str) -> None:
    """The copy's records, all text, exactly as delivered and in file order (the rowid is the record number).

    Known columns take their canonical name; unknown ones are kept as JSON text in _extra_columns.
    """
    con.execute(f"drop table if exists {target}")
    for table in (REJECTS, REJECT_SCANS):
        con.execute(f"drop table if exists temp.{table}")
    columns = "{" + ", ".join(f"{quote_literal(c)}: 'VARCHAR'" for c in file.header) + "}"
    selected = [
        f"{quote_ident(file.column_map[c])} as {quote_ident(c)}" for c in file.layout.columns if c in file.column_map
    ]
    if file.extra_columns:
        pairs = ", ".join(f"{quote_ident(c)} := {quote_ident(c)}" for c in file.extra_columns)
        selected.append(f"to_json(struct_pack({pairs}))::varchar as _extra_columns")
    # Explicit columns, no sniffing: every field lands as text.
    con.execute(
        f"""
        create table {target} as
        select {", ".join(selected)}
        from read_csv(
            {quote_literal(str(path))},
            columns = {columns},
            header = true,
            auto_detect = false,
            delim = ',',
            quote = '"',
            escape = '"',
            strict_mode = true,
            encoding = 'utf-8',
            max_line_size = {DUCKDB_MAX_LINE_SIZE},
            store_rejects = true,
            rejects_table = '{REJECTS}',
            rejects_scan = '{REJECT_SCANS}'
        )
        """
    )
