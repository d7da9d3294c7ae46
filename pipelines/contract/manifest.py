"""`_MANIFEST.json` verification: the delivered files match what the sender says it wrote.

Format (files as a list or as a mapping; each file needs `rows` and/or `sha256`):

    {"batch_id": "2026-11-20",
     "files": [{"name": "patients.csv", "rows": 1000, "sha256": "9f2c..."}, ...]}

`rows` counts data rows after the header. Physical lines are tried first (fast); a file whose quoted fields
hold line breaks matches when its RFC 4180 record count equals `rows` instead.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

MANIFEST_NAME = "_MANIFEST.json"
_CHUNK = 1 << 20

# (path, size, mtime_ns) -> measured value: a sensor re-verifies a folder at most once per file version.
_cache: dict[tuple[str, str, int, int], int | str] = {}


@dataclass(frozen=True)
class ManifestCheck:
    ok: bool
    problems: tuple[str, ...]  # one line per mismatch, file names and numbers only (no data values)
    files: tuple[str, ...]  # file names the manifest lists


def verify_manifest(batch_dir: Path, expected_files: frozenset[str] = frozenset()) -> ManifestCheck:
    """Check the files listed in `batch_dir/_MANIFEST.json`; unlisted `expected_files` present fail too."""
    try:
        entries = _entries(json.loads((batch_dir / MANIFEST_NAME).read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        return ManifestCheck(False, (f"{MANIFEST_NAME} unreadable: {exc}",), ())
    problems: list[str] = []
    for name, spec in entries.items():
        path = batch_dir / name
        if Path(name).name != name:
            problems.append(f"{name}: file names must not contain a directory")
        elif not path.is_file():
            problems.append(f"{name}: listed in the manifest but missing")
        else:
            problems.extend(_check_file(path, spec))
    present = {p.name for p in batch_dir.iterdir() if p.is_file()}
    for name in sorted((expected_files & present) - set(entries)):
        problems.append(f"{name}: present but not listed in the manifest")
    return ManifestCheck(not problems, tuple(problems), tuple(sorted(entries)))


def manifest_entries(batch_dir: Path) -> dict[str, dict] | None:
    """The manifest's file entries by file name; None when the folder has no manifest (ValueError if unreadable)."""
    path = batch_dir / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return _entries(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise ValueError(f"{MANIFEST_NAME} unreadable: {exc}") from exc


def _entries(doc: object) -> dict[str, dict]:
    files = doc.get("files") if isinstance(doc, dict) else None
    if isinstance(files, dict):
        items = [{"name": name, **(spec if isinstance(spec, dict) else {})} for name, spec in files.items()]
    elif isinstance(files, list):
        items = files
    else:
        raise ValueError('expected an object with "files" (a list or a mapping)')
    out: dict[str, dict] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValueError(f"file entry without a name: {item!r}")
        if "rows" not in item and "sha256" not in item:
            raise ValueError(f"{item['name']}: needs rows and/or sha256")
        out[item["name"]] = item
    return out


def _check_file(path: Path, spec: dict) -> list[str]:
    problems = []
    if "sha256" in spec:
        actual = file_sha256(path)
        if str(spec["sha256"]).lower() != actual:
            problems.append(f"{path.name}: sha256 {actual[:12]}… differs from the manifest")
    if "rows" in spec:
        try:
            expected = int(spec["rows"])
        except (TypeError, ValueError):
            return [*problems, f"{path.name}: rows must be an integer"]
        lines = _measure(path, "lines", _count_lines)
        if lines != expected:
            records = _measure(path, "records", _count_records)
            if records != expected:
                problems.append(f"{path.name}: {records} rows, manifest says {expected}")
    return problems


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks (cached per file version)."""

    def digest(p: Path) -> str:
        h = hashlib.sha256()
        with p.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
        return h.hexdigest()

    return str(_measure(path, "sha256", digest))


def _measure(path: Path, what: str, fn):
    st = path.stat()
    key = (str(path.resolve()), what, st.st_size, st.st_mtime_ns)
    if key not in _cache:
        _cache[key] = fn(path)
    return _cache[key]


def _count_lines(path: Path) -> int:
    """Data lines after the header; a missing final newline still counts its line."""
    count, last = 0, b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        count += 1
    return max(count - 1, 0)


def _count_records(path: Path) -> int:
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        return max(sum(1 for _ in csv.reader(fh)) - 1, 0)
