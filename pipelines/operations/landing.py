"""The landing folder: which batch folders are complete, which are still arriving, which are broken.

A batch folder `<landing_dir>/<batch_id>/` is complete when it holds a `_SUCCESS` marker or a `_MANIFEST.json`
whose files all verify (the manifest wins when both are there). Folders whose names start with `_` or `.`
(`_truth`, `.partial`) are not batches. Batch ids sort in delivery order, so batches are returned by name.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.contract.batch_ids import unconventional_batch_id
from pipelines.contract.manifest import MANIFEST_NAME, verify_manifest
from pipelines.contract.synthea import LAYOUTS

SUCCESS_MARKER = "_SUCCESS"
PIPELINE_FILES = frozenset(
    name for layout in LAYOUTS.values() for name in (layout.file_name, layout.file_name + ".gz")
)


@dataclass(frozen=True)
class LandedBatch:
    """A complete batch folder."""

    batch_id: str
    path: Path
    fingerprint: str  # changes when the delivery changes: a re-delivered batch is processed again
    completed_by: str  # SUCCESS_MARKER or MANIFEST_NAME

    @property
    def run_key(self) -> str:
        return f"{self.batch_id}:{self.fingerprint}"


@dataclass(frozen=True)
class PendingBatch:
    """A folder that is not (yet) a complete batch; `problem` is False while it is merely still arriving."""

    batch_id: str
    path: Path
    reason: str
    problem: bool


@dataclass(frozen=True)
class LandingScan:
    complete: list[LandedBatch] = field(default_factory=list)
    pending: list[PendingBatch] = field(default_factory=list)

    @property
    def problems(self) -> list[PendingBatch]:
        return [p for p in self.pending if p.problem]


def scan_landing(
    landing_dir: Path, known: Mapping[str, str] | None = None, *, allow_external_symlinks: bool = False
) -> LandingScan:
    """Classify every batch folder under `landing_dir`.

    `known` maps batch id -> fingerprint already verified (e.g. a sensor cursor): such folders are not
    re-hashed, which keeps a sensor tick cheap when the landing folder holds months of batches. A batch folder
    that is a symbolic link leading out of the landing folder is refused unless `allow_external_symlinks`.
    """
    scan = LandingScan()
    if not landing_dir.is_dir():
        return scan
    for path in sorted(landing_dir.iterdir(), key=lambda p: p.name):
        if not path.is_dir() or path.name.startswith(("_", ".")):
            continue
        if not allow_external_symlinks and not is_within(path, landing_dir):
            reason = "the batch folder is a symbolic link leading out of the landing folder"
            scan.pending.append(PendingBatch(path.name, path, reason, problem=True))
            continue
        result = inspect_batch(path, known_fingerprint=(known or {}).get(path.name))
        (scan.complete if isinstance(result, LandedBatch) else scan.pending).append(result)
    return scan


def is_within(path: Path, root: Path) -> bool:
    """Whether `path`, all symbolic links followed, is `root` or inside it (also with links followed)."""
    real, real_root = os.path.realpath(path), os.path.realpath(root)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def inspect_batch(path: Path, known_fingerprint: str | None = None) -> LandedBatch | PendingBatch:
    """Decide whether one folder is a complete batch."""
    batch_id = path.name
    problem = unconventional_batch_id(batch_id)
    if problem:
        return PendingBatch(batch_id, path, f"folder name is not a batch id: {problem}", problem=True)
    has_manifest = (path / MANIFEST_NAME).is_file()
    if not has_manifest and not (path / SUCCESS_MARKER).is_file():
        return PendingBatch(batch_id, path, f"waiting for {SUCCESS_MARKER} or {MANIFEST_NAME}", problem=False)
    fingerprint = batch_fingerprint(path)
    completed_by = MANIFEST_NAME if has_manifest else SUCCESS_MARKER
    if has_manifest and fingerprint != known_fingerprint:
        check = verify_manifest(path, expected_files=PIPELINE_FILES)
        if not check.ok:
            reason = "manifest mismatch: " + "; ".join(check.problems)
            return PendingBatch(batch_id, path, reason, problem=True)
    return LandedBatch(batch_id, path, fingerprint, completed_by)


def batch_fingerprint(path: Path) -> str:
    """Hash of the manifest bytes and every file's name, size and modification time (cheap: no data read)."""
    h = hashlib.sha256()
    for file in sorted(p for p in path.iterdir() if p.is_file()):
        st = file.stat()
        h.update(f"{file.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        if file.name == MANIFEST_NAME:
            h.update(file.read_bytes())
    return h.hexdigest()[:16]
