"""A daily delta on top of a generated extract, for the incremental bench: a share of the existing patients
re-delivered (every row of theirs again, a third of them updated in a field outside the natural key), a few
encounters re-delivered under another of those patients, plus new patients from another generator seed.

    python -m bench.delta BASE_DIR NEW_PATIENTS_DIR OUT_DIR [--share 0.01]

The patients are chosen by a hash of their id (the same ones on every run); the files keep the base's header and
all-text values, so the delta reads exactly like a delivery of the same EHR.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import polars as pl

FILES = ("patients", "encounters", "conditions", "observations", "medications", "procedures")
UPDATED_SHARE = 3  # every third re-delivered row gets a changed DESCRIPTION (same natural key: an update)
MOVED_SHARE = 10  # one encounter of every tenth chosen patient is re-delivered under another chosen patient


def chosen_patients(base: Path, share: float) -> pl.Series:
    ids = pl.read_csv(base / "patients.csv", columns=["Id"], infer_schema=False)["Id"]
    buckets = max(int(round(1 / share)), 1)
    return ids.filter(ids.hash(seed=14) % buckets == 0)


def write_delta(base: Path, new_patients: Path | None, out: Path, share: float = 0.01) -> dict[str, int]:
    """Writes the delta folder (with `_SUCCESS`); returns rows per file."""
    out.mkdir(parents=True, exist_ok=True)
    chosen = chosen_patients(base, share)
    rows: dict[str, int] = {}
    for name in FILES:
        path = base / f"{name}.csv"
        if not path.exists():
            continue
        frame = pl.read_csv(path, infer_schema=False)
        key = "Id" if name == "patients" else "PATIENT"
        again = frame.filter(pl.col(key).is_in(chosen.implode()))
        if "DESCRIPTION" in again.columns:
            updated = pl.int_range(pl.len()) % UPDATED_SHARE == 0
            again = again.with_columns(
                pl.when(updated).then(pl.col("DESCRIPTION") + " (updated)").otherwise(pl.col("DESCRIPTION"))
            )
        if name == "encounters" and again.height > 1:
            again = _move_some_encounters(again)
        if new_patients is not None and (new_patients / f"{name}.csv").exists():
            again = pl.concat([again, pl.read_csv(new_patients / f"{name}.csv", infer_schema=False)], how="diagonal")
            again = again.select(frame.columns)
        again.write_csv(out / f"{name}.csv")
        rows[name] = again.height
    (out / "_SUCCESS").touch()
    return rows


def _move_some_encounters(encounters: pl.DataFrame) -> pl.DataFrame:
    """The first encounter of every MOVED_SHARE-th patient goes to the next patient in id order."""
    patients = encounters["PATIENT"].unique().sort()
    if patients.len() < 2:
        return encounters
    movers = patients.gather_every(MOVED_SHARE)
    receivers = dict(zip(patients.to_list(), patients.shift(-1, fill_value=patients[0]).to_list(), strict=True))
    first = encounters.with_row_index("_row").group_by("PATIENT").agg(pl.col("_row").min())
    moved_rows = first.filter(pl.col("PATIENT").is_in(movers.implode()))["_row"]
    return (
        encounters.with_row_index("_row")
        .with_columns(
            pl.when(pl.col("_row").is_in(moved_rows.implode()))
            .then(pl.col("PATIENT").replace_strict(receivers, default=pl.col("PATIENT")))
            .otherwise(pl.col("PATIENT"))
        )
        .drop("_row")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("new_patients", type=Path, help="a generated extract of new patients ('-' for none)")
    parser.add_argument("out", type=Path)
    parser.add_argument("--share", type=float, default=0.01)
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    new = None if str(args.new_patients) == "-" else args.new_patients
    print(write_delta(args.base, new, args.out, args.share))


if __name__ == "__main__":
    main()
