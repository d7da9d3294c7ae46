"""`generate_extract`: a synthetic Synthea-layout extract with planted cramp scenarios and its ground truth.

Patients are generated in chunks (each with its own seeded random stream) and appended to the CSV files,
so memory stays bounded and the same arguments always give the same bytes.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.generate import batches as batching
from pipelines.generate.codebook import CodeBook, load_codebook
from pipelines.generate.defects import FATE, QUARANTINE_CLASSES, inject
from pipelines.generate.events import build_events
from pipelines.generate.fields import DAY
from pipelines.generate.population import population
from pipelines.generate.scenarios import Planted, plant
from pipelines.generate.tables import COLUMNS, Pools, text_tables
from pipelines.generate.truth import compute_truth
from pipelines.generate.writer import ExtractWriter

CHUNK_PATIENTS = 25_000
CRAMP_SHARE = 0.10
TRUTH_DIR = "_truth"
TABLE_ORDER = ("patients", "encounters", "conditions", "observations", "medications", "procedures")


@dataclass
class GenerationSummary:
    out_dir: Path
    patients: int
    seed: int
    batch_ids: list[str]
    defect_rate: float
    planted_patients: int = 0
    defect_rows: int = 0
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # batch id -> file name -> data rows
    elapsed_seconds: float = 0.0

    def __str__(self) -> str:
        total = sum(n for files in self.rows.values() for n in files.values())
        lines = [
            f"wrote {self.patients:,} patients ({self.planted_patients:,} with planted cramp scenarios) "
            f"in {len(self.batch_ids)} batch(es) to {self.out_dir} in {self.elapsed_seconds:.1f} s",
            f"{total:,} data rows, {self.defect_rows:,} planted defects (rate {self.defect_rate}); "
            f"ground truth in {self.out_dir / TRUTH_DIR}",
        ]
        for batch_id, files in self.rows.items():
            counts = ", ".join(f"{name} {n:,}" for name, n in files.items())
            lines.append(f"  {batch_id}: {counts}")
        return "\n".join(lines)


def generate_extract(
    out_dir: Path, patients: int, seed: int = 42, batches: int = 1, defects: float = 0.0
) -> GenerationSummary:
    """Writes the extract to `out_dir` (files directly there for one batch, one folder per batch otherwise)
    and the ground truth to `out_dir/_truth/`. Same arguments -> same bytes."""
    started = time.perf_counter()
    if patients < 1:
        raise ValueError("patients must be at least 1")
    if batches < 1:
        raise ValueError("batches must be at least 1")
    if not 0.0 <= defects < 0.5:
        raise ValueError("defects is a fraction of rows per file, from 0 to 0.5")
    out_dir = Path(out_dir)
    # One batch = the folder itself, and the pipeline names a batch after its folder.
    batch_ids = [out_dir.resolve().name] if batches == 1 else batching.batch_ids(batches)
    batch_dirs = [out_dir] if batches == 1 else [out_dir / b for b in batch_ids]
    _prepare(out_dir, batch_dirs)

    codebook = load_codebook()
    pools = Pools(seed)
    writer = ExtractWriter(batch_dirs)
    summary = GenerationSummary(out_dir, patients, seed, batch_ids, defects)
    flags_parts, gaps_parts, defect_parts, count_parts = [], [], [], []
    for chunk, start in enumerate(range(0, patients, CHUNK_PATIENTS)):
        n = min(CHUNK_PATIENTS, patients - start)
        rng = np.random.default_rng([seed, chunk])
        n_cramp = max(1, round(n * CRAMP_SHARE))  # even a tiny extract has a cohort to check
        cramp_pids = np.sort(rng.choice(n, n_cramp, replace=False))
        planted = plant(rng, n_cramp, codebook)
        cramp = np.zeros(n, dtype=bool)
        cramp[cramp_pids] = True
        people = population(
            rng,
            n,
            cramp,
            planted.patients["sex"].to_numpy(),
            planted.patients["birth_day"].to_numpy(),
            planted.patients["gender_text"].to_numpy(),
        )
        events = build_events(rng, people, planted, cramp_pids, codebook)
        tables = batching.split(text_tables(events, people, pools, rng), people, batches, rng)
        for table in TABLE_ORDER:
            frame = inject(tables[table], table, defects, batches, rng)
            defect_parts.append(_write(writer, frame, table, batch_ids))
            count_parts.append(_counts(frame, table, batch_ids))
        if n_cramp:
            flags, gaps = _truth(people, planted, cramp_pids, events, codebook)
            flags_parts.append(flags)
            gaps_parts.append(gaps)
        summary.planted_patients += n_cramp
    writer.ensure_headers()

    defect_rows = pl.concat(defect_parts)
    _write_truth(out_dir / TRUTH_DIR, flags_parts, gaps_parts, defect_rows, count_parts, writer, batch_ids)
    for d in batch_dirs:
        (d / "_SUCCESS").write_bytes(b"")
    summary.defect_rows = defect_rows.filter(~pl.col("planted")).height
    summary.rows = {
        batch_id: {f"{t}.csv": writer.rows.get((b, t), 0) for t in TABLE_ORDER} for b, batch_id in enumerate(batch_ids)
    }
    summary.elapsed_seconds = time.perf_counter() - started
    return summary


def _prepare(out_dir: Path, batch_dirs: list[Path]) -> None:
    """Removes what an earlier run wrote here (our files only), so a rerun gives the same bytes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out_dir / TRUTH_DIR, ignore_errors=True)
    for d in {out_dir, *batch_dirs}:
        d.mkdir(parents=True, exist_ok=True)
        for name in [*(f"{t}.csv" for t in COLUMNS), "_SUCCESS"]:
            (d / name).unlink(missing_ok=True)
    (out_dir / TRUTH_DIR).mkdir()


def _write(writer: ExtractWriter, frame: pl.DataFrame, table: str, batch_ids: list[str]) -> pl.DataFrame:
    """Writes each batch's rows; returns the defect rows with their file lines."""
    found = []
    for b, batch_id in enumerate(batch_ids):
        part = frame.filter(pl.col("_batch") == b)
        if part.height == 0:
            continue
        first_line = writer.write(b, table, part)
        found.append(
            part.with_row_index("_i")
            .filter(pl.col("_defect").is_not_null())
            .select(
                pl.lit(batch_id).alias("batch_id"),
                pl.lit(f"{table}.csv").alias("source_file"),
                (pl.col("_i").cast(pl.Int64) + first_line).alias("source_line"),
                pl.col("_defect").alias("defect"),
                pl.col("_defect").replace_strict(FATE).alias("expected_fate"),
                pl.col("_cramp").alias("planted"),
            )
        )
    return (
        pl.concat(found)
        if found
        else pl.DataFrame(
            schema={
                "batch_id": pl.String,
                "source_file": pl.String,
                "source_line": pl.Int64,
                "defect": pl.String,
                "expected_fate": pl.String,
                "planted": pl.Boolean,
            }
        )
    )


def _counts(frame: pl.DataFrame, table: str, batch_ids: list[str]) -> pl.DataFrame:
    """Per batch: rows by final fate; per file: distinct current natural keys expected in staging."""
    quarantined = pl.col("_fate").is_in(list(QUARANTINE_CLASSES))
    per_batch = frame.group_by("_batch").agg(
        pl.len().alias("rows_written"),
        pl.col("_fate").eq("loaded").sum().alias("rows_loaded"),
        quarantined.sum().alias("rows_quarantined"),
        pl.col("_fate").eq("superseded").sum().alias("rows_superseded"),
    )
    staged = frame.filter(~quarantined).select(pl.col("_key").n_unique()).item()
    return (
        per_batch.sort("_batch")
        .with_columns(
            pl.col("_batch").replace_strict(dict(enumerate(batch_ids)), return_dtype=pl.String).alias("batch_id"),
            pl.lit(f"{table}.csv").alias("source_file"),
            # Keys never span chunks, so per-chunk distinct counts add up (carried on one row per chunk).
            pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(staged)).otherwise(0).alias("_staged"),
        )
        .drop("_batch")
    )


def _truth(
    people: pl.DataFrame,
    planted: Planted,
    cramp_pids: np.ndarray,
    events: dict[str, pl.DataFrame],
    codebook: CodeBook,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Truth from the final state of the cramp patients' rows (all their rows, planted or background)."""
    ids = people.select("pid", "patient_id")

    def as_date(column: str) -> pl.Expr:
        return pl.col(column).cast(pl.Int32).cast(pl.Date)

    patients = (
        planted.patients.with_columns(pl.Series("pid", cramp_pids))
        .join(ids, on="pid")
        .select("patient_id", "sex", as_date("birth_day").alias("birth"), "scenario")
    )
    conditions = (
        events["conditions"]
        .filter("cramp")
        .join(ids, on="pid")
        .select(
            "patient_id", "code_system", "code", as_date("start_day").alias("start"), as_date("stop_day").alias("stop")
        )
    )
    observations = (
        events["observations"]
        .filter("cramp")
        .join(ids, on="pid")
        .select(
            "patient_id",
            "code",
            (pl.col("start_s") // DAY).cast(pl.Int32).cast(pl.Date).alias("day"),
            pl.from_epoch("start_s", time_unit="s").alias("observed_at"),
            "value",
            pl.col("units").fill_null(""),
        )
    )
    return compute_truth(patients, conditions, observations, codebook)


def _write_truth(
    truth_dir: Path,
    flags_parts: list[pl.DataFrame],
    gaps_parts: list[pl.DataFrame],
    defect_rows: pl.DataFrame,
    count_parts: list[pl.DataFrame],
    writer: ExtractWriter,
    batch_ids: list[str],
) -> None:
    if flags_parts:
        pl.concat(flags_parts).sort("patient_id").write_csv(truth_dir / "patient_flags.csv")
        pl.concat(gaps_parts).sort("patient_id", "gap").write_csv(truth_dir / "care_gaps.csv")
    else:
        pl.DataFrame(schema={"patient_id": pl.String}).write_csv(truth_dir / "patient_flags.csv")
        pl.DataFrame(schema={"patient_id": pl.String, "gap": pl.String}).write_csv(truth_dir / "care_gaps.csv")
    defect_rows.sort("batch_id", "source_file", "source_line").write_csv(truth_dir / "defects.csv")
    counts = pl.concat(count_parts)
    per_batch = counts.group_by("batch_id", "source_file").agg(
        pl.col("rows_written", "rows_loaded", "rows_quarantined", "rows_superseded").sum()
    )
    # Every (batch, file) appears, with zeros where a batch has no rows of that file.
    grid = pl.DataFrame(
        [(b, f"{t}.csv") for b in batch_ids for t in TABLE_ORDER], schema=["batch_id", "source_file"], orient="row"
    )
    per_batch = (
        grid.join(per_batch, on=["batch_id", "source_file"], how="left")
        .fill_null(0)
        .with_columns(pl.lit(None, dtype=pl.Int64).alias("rows_in_staging"))
    )
    overall = counts.group_by("source_file").agg(
        pl.lit("ALL").alias("batch_id"),
        pl.col("rows_written", "rows_loaded", "rows_quarantined", "rows_superseded").sum(),
        pl.col("_staged").sum().alias("rows_in_staging"),
    )
    table = pl.concat([per_batch, overall.select(per_batch.columns)], how="vertical_relaxed")
    order = {f"{t}.csv": i for i, t in enumerate(TABLE_ORDER)}
    table.with_columns(pl.col("source_file").replace_strict(order).alias("_o")).sort(
        pl.col("batch_id") == "ALL", "batch_id", "_o"
    ).drop("_o").write_csv(truth_dir / "expected_counts.csv")
    assert sum(writer.rows.values()) == table.filter(pl.col("batch_id") != "ALL")["rows_written"].sum()


def read_truth(out_dir: Path) -> dict[str, pl.DataFrame]:
    """The ground truth of a generated extract, typed: patient_flags, care_gaps, defects, expected_counts."""
    truth_dir = Path(out_dir) / TRUTH_DIR
    return {
        "patient_flags": pl.read_csv(
            truth_dir / "patient_flags.csv",
            schema_overrides={
                "index_date": pl.Date,
                "cramp_events": pl.Int32,
                "age_at_index": pl.Int32,
                "risk_factor_count": pl.Int32,
            },
        ),
        "care_gaps": pl.read_csv(truth_dir / "care_gaps.csv"),
        "defects": pl.read_csv(truth_dir / "defects.csv", schema_overrides={"source_line": pl.Int64}),
        "expected_counts": pl.read_csv(truth_dir / "expected_counts.csv"),
    }
