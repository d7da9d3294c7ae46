"""Landing folder detection: markers, manifests (row counts and SHA-256), half-copied and broken folders.

Also holds `write_batch`, the small real extract writer the automation tests share.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path

from pipelines.contract import manifest
from pipelines.contract.manifest import MANIFEST_NAME, verify_manifest
from pipelines.contract.synthea import LAYOUTS
from pipelines.operations.landing import (
    SUCCESS_MARKER,
    LandedBatch,
    PendingBatch,
    inspect_batch,
    scan_landing,
)


def write_csv(folder: Path, name: str, rows: list[dict[str, str]], drop: tuple[str, ...] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    columns = [c for c in LAYOUTS[name].columns if c not in drop]
    path = folder / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[row.get(c, "") for c in columns] for row in rows])
    return path


def write_batch(
    folder: Path,
    patients: list[str],
    conditions: list[tuple[str, str, str]],
    *,
    complete: bool = True,
    drop_condition_columns: tuple[str, ...] = (),
) -> Path:
    """A small valid extract: one encounter `e_<patient>` per patient; conditions are (patient, code, start).

    `complete=False` leaves the `_SUCCESS` marker out (a half-copied folder).
    """
    write_csv(
        folder,
        "patients",
        [{"Id": p, "BIRTHDATE": "1960-01-01", "GENDER": "F" if i % 2 else "M"} for i, p in enumerate(patients)],
    )
    write_csv(
        folder,
        "encounters",
        [
            {"Id": f"e_{p}", "START": "2025-03-01T10:00:00Z", "STOP": "2025-03-01T11:00:00Z", "PATIENT": p}
            for p in patients
        ],
    )
    write_csv(
        folder,
        "conditions",
        [
            {
                "START": start,
                "PATIENT": p,
                "ENCOUNTER": f"e_{p}",
                "SYSTEM": "SNOMED-CT",
                "CODE": code,
                "DESCRIPTION": "test condition",
            }
            for p, code, start in conditions
        ],
        drop=drop_condition_columns,
    )
    write_csv(
        folder,
        "observations",
        [
            {
                "DATE": "2025-03-01T10:30:00Z",
                "PATIENT": p,
                "ENCOUNTER": f"e_{p}",
                "CATEGORY": "vital-signs",
                "CODE": "test-obs",
                "DESCRIPTION": "test observation",
                "VALUE": "1",
                "UNITS": "1",
                "TYPE": "numeric",
            }
            for p in patients
        ],
    )
    if complete:
        (folder / SUCCESS_MARKER).touch()
    return folder


def write_manifest(folder: Path, *, with_sha: bool = True, with_rows: bool = True, **wrong_rows: int) -> Path:
    entries = []
    for path in sorted(folder.glob("*.csv")):
        entry: dict[str, object] = {"name": path.name}
        if with_rows:
            lines = path.read_text(encoding="utf-8").count("\n") - 1
            entry["rows"] = wrong_rows.get(path.stem, lines)
        if with_sha:
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        entries.append(entry)
    manifest = folder / MANIFEST_NAME
    manifest.write_text(json.dumps({"batch_id": folder.name, "files": entries}))
    return manifest


def test_success_marker_makes_a_batch_complete(tmp_path: Path) -> None:
    write_batch(tmp_path / "2026-01-01", ["p1"], [("p1", "c1", "2025-03-01")])
    write_batch(tmp_path / "2026-01-02", ["p2"], [("p2", "c1", "2025-03-01")], complete=False)
    scan = scan_landing(tmp_path)
    assert [b.batch_id for b in scan.complete] == ["2026-01-01"]
    assert scan.complete[0].completed_by == SUCCESS_MARKER
    assert [(p.batch_id, p.problem) for p in scan.pending] == [("2026-01-02", False)]
    assert scan.problems == []


def test_batches_come_in_name_order_and_special_folders_are_ignored(tmp_path: Path) -> None:
    for name in ("2026-03-01", "2026-01-01", "2026-02-01"):
        write_batch(tmp_path / name, ["p1"], [])
    write_batch(tmp_path / "_truth", ["p1"], [])
    write_batch(tmp_path / ".partial-copy", ["p1"], [])
    (tmp_path / "notes.txt").write_text("not a folder")
    assert [b.batch_id for b in scan_landing(tmp_path).complete] == ["2026-01-01", "2026-02-01", "2026-03-01"]


def test_missing_landing_folder_is_empty(tmp_path: Path) -> None:
    scan = scan_landing(tmp_path / "nowhere")
    assert scan.complete == [] and scan.pending == []


def test_valid_manifest_completes_without_marker(tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "2026-01-01", ["p1", "p2"], [("p1", "c1", "2025-03-01")], complete=False)
    write_manifest(folder)
    result = inspect_batch(folder)
    assert isinstance(result, LandedBatch)
    assert result.completed_by == MANIFEST_NAME
    assert verify_manifest(folder).files == (
        "conditions.csv",
        "encounters.csv",
        "observations.csv",
        "patients.csv",
    )


def test_manifest_with_rows_only_or_sha_only(tmp_path: Path) -> None:
    rows_only = write_batch(tmp_path / "2026-01-02", ["p1", "p2"], [], complete=False)
    write_manifest(rows_only, with_sha=False)
    sha_only = write_batch(tmp_path / "2026-01-03", ["p1", "p2"], [], complete=False)
    write_manifest(sha_only, with_rows=False)
    assert isinstance(inspect_batch(rows_only), LandedBatch)
    assert isinstance(inspect_batch(sha_only), LandedBatch)


def test_row_count_mismatch_is_reported_not_complete(tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "2026-01-01", ["p1", "p2"], [], complete=True)
    write_manifest(folder, patients=3)  # the manifest wins over the marker
    result = inspect_batch(folder)
    assert isinstance(result, PendingBatch) and result.problem
    assert "patients.csv: 2 rows, manifest says 3" in result.reason


def test_checksum_mismatch_and_missing_file(tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "2026-01-01", ["p1"], [("p1", "c1", "2025-03-01")], complete=False)
    write_manifest(folder, with_rows=False)
    with (folder / "conditions.csv").open("a") as fh:  # the copy changed after the manifest was written
        fh.write("2025-04-01,,p1,e_p1,SNOMED-CT,c2,late row\n")
    (folder / "observations.csv").unlink()  # still being copied
    result = inspect_batch(folder)
    assert isinstance(result, PendingBatch) and result.problem
    assert "conditions.csv: sha256" in result.reason
    assert "observations.csv: listed in the manifest but missing" in result.reason


def test_unlisted_pipeline_file_fails_manifest(tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "2026-01-01", ["p1"], [], complete=False)
    write_manifest(folder)
    write_csv(folder, "medications", [])
    check = verify_manifest(folder, expected_files=frozenset({"medications.csv"}))
    assert not check.ok
    assert check.problems == ("medications.csv: present but not listed in the manifest",)


def test_half_written_manifest_is_a_problem(tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "2026-01-01", ["p1"], [], complete=False)
    (folder / MANIFEST_NAME).write_text('{"files": [{"name": "patients.csv", "ro')
    result = inspect_batch(folder)
    assert isinstance(result, PendingBatch) and result.problem
    assert "unreadable" in result.reason


def test_quoted_line_breaks_count_as_one_row(tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "2026-01-01", ["p1"], [], complete=False)
    with (folder / "conditions.csv").open("a", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerow(["2025-03-01", "", "p1", "e_p1", "SNOMED-CT", "c9", "two\nlines"])
    write_manifest(folder, with_sha=False, conditions=1)
    assert isinstance(inspect_batch(folder), LandedBatch)


def test_invalid_batch_id_is_a_problem(tmp_path: Path) -> None:
    write_batch(tmp_path / "batch with spaces", ["p1"], [])
    scan = scan_landing(tmp_path)
    assert scan.complete == []
    assert [p.batch_id for p in scan.problems] == ["batch with spaces"]


def test_fingerprint_changes_on_redelivery_only(tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "2026-01-01", ["p1"], [("p1", "c1", "2025-03-01")])
    first = inspect_batch(folder)
    assert isinstance(first, LandedBatch)
    again = inspect_batch(folder)
    assert isinstance(again, LandedBatch) and again.fingerprint == first.fingerprint
    write_batch(folder, ["p1", "p2"], [("p1", "c1", "2025-03-01")])  # re-delivered with more rows
    later = inspect_batch(folder)
    assert isinstance(later, LandedBatch) and later.fingerprint != first.fingerprint
    assert later.run_key == f"2026-01-01:{later.fingerprint}"


def test_known_fingerprint_skips_reverification(tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "2026-01-01", ["p1"], [], complete=False)
    write_manifest(folder)
    known = inspect_batch(folder)
    assert isinstance(known, LandedBatch)
    # Same stat fingerprint but content that would not verify: a known delivery is trusted, a new one is not.
    path = folder / "patients.csv"
    st = path.stat()
    path.write_bytes(path.read_bytes().replace(b"1960", b"1961"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert isinstance(inspect_batch(folder, known_fingerprint=known.fingerprint), LandedBatch)
    manifest._cache.clear()  # a fresh process (no per-file-version hash cache) verifies and rejects it
    assert isinstance(inspect_batch(folder), PendingBatch)


def test_batch_folders_linked_from_outside_the_landing_folder_are_refused_unless_allowed(tmp_path: Path) -> None:
    landing, elsewhere = tmp_path / "landing", tmp_path / "elsewhere"
    write_batch(elsewhere / "2026-01-05", ["p1"], [])
    landing.mkdir()
    (landing / "2026-01-05").symlink_to(elsewhere / "2026-01-05")
    write_batch(landing / "2026-01-06", ["p1"], [])
    (landing / "2026-01-07").symlink_to(landing / "2026-01-06")  # a link that stays inside is fine
    scan = scan_landing(landing)
    assert [b.batch_id for b in scan.complete] == ["2026-01-06", "2026-01-07"]
    assert [(p.batch_id, p.reason) for p in scan.problems] == [
        ("2026-01-05", "the batch folder is a symbolic link leading out of the landing folder")
    ]
    allowed = scan_landing(landing, allow_external_symlinks=True)
    assert [b.batch_id for b in allowed.complete] == ["2026-01-05", "2026-01-06", "2026-01-07"]


def test_folder_names_that_are_not_batch_ids_are_reported(tmp_path: Path) -> None:
    write_batch(tmp_path / "csv", ["p1"], [])  # Synthea's own output folder: would sort after every date
    write_batch(tmp_path / "2026-02-30", ["p1"], [])  # not a date
    scan = scan_landing(tmp_path)
    assert scan.complete == []
    assert [p.batch_id for p in scan.problems] == ["2026-02-30", "csv"]
    assert all("not a batch id" in p.reason for p in scan.problems)
