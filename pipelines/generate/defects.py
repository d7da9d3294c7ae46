"""Defects (`--defects RATE`): a fraction of each file's rows per batch made faulty in a known way.

Defects never touch cramp patients' rows, nor rows that are re-delivered, so the truth stays exact.
Event tables are mutated in place; patients and encounters get *extra* faulty rows with fresh ids instead
(quarantining a real parent row would cascade to its children). An exact duplicate is an extra copy right
after the original; the original (earlier line) is the one expected to be superseded.

Structural defects need bytes Polars cannot write (a field too many or too few, a Latin-1 byte): the frame
carries control-character markers that `writer.py` turns into those bytes.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.generate.batches import batch_of
from pipelines.generate.fields import ANCHOR_DAY, DAY, date_text, ts_text, uuids
from pipelines.generate.tables import COLUMNS, DATE_COLUMN, TEXT_COLUMN

EXTRA_FIELD = "\x1f"  # writer: -> ","
DROP_FIELD = "\x1e"  # writer: ",\x1e" -> "" (the last field and its separator disappear)
LATIN1 = "\x1d"  # writer: -> b"\xe9"

QUARANTINE_CLASSES = (
    "too_many_fields",
    "too_few_fields",
    "invalid_encoding",
    "invalid_date",
    "future_date",
    "event_before_birth",
    "event_after_death",
    "orphan_patient",
    "orphan_encounter",
    "missing_required_field",
)
FATE = {c: c for c in QUARANTINE_CLASSES} | {
    "exact_duplicate": "superseded",
    "unknown_unit": "staged_excluded",
    "implausible_value": "staged_excluded",
}
CLASSES: dict[str, tuple[str, ...]] = {
    "patients": (
        "too_many_fields",
        "too_few_fields",
        "invalid_encoding",
        "invalid_date",
        "future_date",
        "missing_required_field",
        "exact_duplicate",
    ),
    "encounters": (
        "too_many_fields",
        "too_few_fields",
        "invalid_encoding",
        "invalid_date",
        "future_date",
        "event_before_birth",
        "event_after_death",
        "orphan_patient",
        "missing_required_field",
        "exact_duplicate",
    ),
}
EVENT_CLASSES = (*QUARANTINE_CLASSES, "exact_duplicate")
IMPLAUSIBLE = {"calcium_total": ("45", "mg/dL"), "albumin": ("12", "g/dL"), "magnesium": ("15", "mg/dL")}
UNKNOWN_UNITS = ("mg%", "units")


def classes_for(table: str) -> tuple[str, ...]:
    if table in CLASSES:
        return CLASSES[table]
    return (*EVENT_CLASSES, "unknown_unit", "implausible_value") if table == "observations" else EVENT_CLASSES


def inject(df: pl.DataFrame, table: str, rate: float, n_batches: int, rng: np.random.Generator) -> pl.DataFrame:
    """Adds `_order` (file order), `_defect` and `_fate`.

    `_fate` is the row's expected end in the final state: loaded / superseded / a quarantine reason code.
    """
    df = df.with_columns(
        pl.Series("_order", np.arange(df.height, dtype=np.float64)),
        pl.col("_trap").alias("_defect") if "_trap" in df.columns else pl.lit(None, dtype=pl.String).alias("_defect"),
    )
    if rate > 0 and df.height:
        extra: list[pl.DataFrame] = []
        for b in range(n_batches):
            df, added = _inject_batch(df, table, rate, b, n_batches, rng)
            extra.extend(added)
        df = pl.concat([df, *extra], how="vertical_relaxed").sort("_batch", "_order", maintain_order=True)
    fate = pl.col("_defect").replace_strict(FATE, default=None)
    return df.with_columns(
        pl.when(fate.is_not_null() & (fate != "staged_excluded"))
        .then(fate)
        .when(pl.col("_has_copy"))
        .then(pl.lit("superseded"))
        .otherwise(pl.lit("loaded"))
        .alias("_fate")
    )


def _inject_batch(
    df: pl.DataFrame, table: str, rate: float, b: int, n_batches: int, rng: np.random.Generator
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    in_batch = pl.col("_batch") == b
    base = in_batch & ~pl.col("_cramp") & ~pl.col("_has_copy") & ~pl.col("_is_copy") & pl.col("_defect").is_null()
    n_rows = df.select(in_batch.sum()).item()
    n_def = int(rng.binomial(n_rows, rate)) if n_rows else 0
    classes = classes_for(table)
    counts = np.bincount(rng.integers(0, len(classes), n_def), minlength=len(classes))
    used = np.zeros(df.height, dtype=bool)
    extra: list[pl.DataFrame] = []
    injected = table in CLASSES
    for cls, k in zip(classes, counts, strict=True):
        if k == 0:
            continue
        mask = df.select(base & _eligible(cls, table, n_batches)).to_series().to_numpy() & ~used
        candidates = np.flatnonzero(mask)
        if candidates.size == 0:
            continue
        chosen = np.sort(rng.choice(candidates, size=min(int(k), candidates.size), replace=False))
        used[chosen] = True
        rows = df[chosen]
        if cls == "exact_duplicate":
            extra.append(rows.with_columns((pl.col("_order") + 0.5).alias("_order")))
            df = df.with_columns(
                pl.when(pl.Series(_mask(df.height, chosen))).then(pl.lit(cls)).otherwise("_defect").alias("_defect")
            )
        elif injected:
            fresh = rows.with_columns(uuids(rng, rows.height).alias("Id"))
            fresh = fresh.with_columns(pl.col("Id").alias("_key"), (pl.col("_order") + 0.25).alias("_order"))
            extra.append(_mutate(fresh, cls, table, rng).with_columns(pl.lit(cls).alias("_defect")))
        else:
            mutated = _mutate(rows, cls, table, rng).with_columns(pl.lit(cls).alias("_defect"))
            df = _replace_rows(df, chosen, mutated)
    return df, extra


def _eligible(cls: str, table: str, n_batches: int) -> pl.Expr:
    if cls == "event_after_death":
        death = pl.col("_death_day")
        death_batch = death.map_batches(lambda s: pl.Series(batch_of(s.fill_null(0).to_numpy(), n_batches)))
        return death.is_not_null() & (death <= ANCHOR_DAY - 3) & (death_batch == pl.col("_batch"))
    if cls == "future_date":
        return pl.col("_death_day").is_null()
    if cls == "orphan_encounter":
        return pl.col("ENCOUNTER").is_not_null()
    if cls in ("unknown_unit", "implausible_value"):
        return pl.col("_measure").is_not_null()
    return pl.lit(True)


def _mutate(rows: pl.DataFrame, cls: str, table: str, rng: np.random.Generator) -> pl.DataFrame:
    n = rows.height
    date_col = DATE_COLUMN[table]
    last_col = COLUMNS[table][-1]
    is_ts = pl.col(date_col).str.contains("T", literal=True)

    def as_date_text(days: np.ndarray) -> pl.Expr:
        d = pl.Series(days)
        return pl.when(is_ts).then(ts_text(pl.lit(d) * DAY + 10 * 3600)).otherwise(date_text(pl.lit(d)))

    if cls == "too_many_fields":
        return rows.with_columns(pl.lit(f"x{EXTRA_FIELD}y").alias(last_col))
    if cls == "too_few_fields":
        return rows.with_columns(pl.lit(DROP_FIELD).alias(last_col))
    if cls == "invalid_encoding":
        col = TEXT_COLUMN[table]
        return rows.with_columns(pl.concat_str(pl.col(col).fill_null(""), pl.lit(f" caf{LATIN1}")).alias(col))
    if cls == "invalid_date":
        bad = pl.Series(np.where(np.arange(n) % 2 == 0, "2021-13-45", "yesterday"))
        return rows.with_columns(pl.lit(bad).alias(date_col))
    if cls == "future_date":
        # Feb 29 needs a leap year, or the row would be an invalid date instead of a future one.
        year = pl.when(pl.col(date_col).str.slice(5, 5) == "02-29").then(pl.lit("2096")).otherwise(pl.lit("2099"))
        return rows.with_columns(pl.concat_str(year, pl.col(date_col).str.slice(4)).alias(date_col))
    if cls == "event_before_birth":
        days = rows["_birth_day"].to_numpy() - rng.integers(30, 400, n)
        return rows.with_columns(as_date_text(days).alias(date_col))
    if cls == "event_after_death":
        death = rows["_death_day"].to_numpy()
        days = death + 1 + (rng.random(n) * np.minimum(20, ANCHOR_DAY - 2 - death)).astype(np.int64)
        return rows.with_columns(as_date_text(days).alias(date_col))
    if cls == "orphan_patient":
        return rows.with_columns(uuids(rng, n).alias("PATIENT"))
    if cls == "orphan_encounter":
        return rows.with_columns(uuids(rng, n).alias("ENCOUNTER"))
    if cls == "missing_required_field":
        if table in CLASSES:
            return rows.with_columns(pl.lit(None, dtype=pl.String).alias("Id"))
        even = pl.lit(pl.Series(np.arange(n) % 2 == 0))
        return rows.with_columns(
            pl.when(even).then(None).otherwise(pl.col("PATIENT")).alias("PATIENT"),
            pl.when(~even).then(None).otherwise(pl.col("CODE")).alias("CODE"),
        )
    if cls == "unknown_unit":
        units = pl.Series(np.array(UNKNOWN_UNITS)[np.arange(n) % len(UNKNOWN_UNITS)])
        return rows.with_columns(pl.lit(units).alias("UNITS"))
    if cls == "implausible_value":
        measure = pl.col("_measure")
        return rows.with_columns(
            measure.replace_strict({m: v for m, (v, _) in IMPLAUSIBLE.items()}, default="99").alias("VALUE"),
            measure.replace_strict({m: u for m, (_, u) in IMPLAUSIBLE.items()}, default="mg/dL").alias("UNITS"),
        )
    raise ValueError(f"unknown defect class {cls!r}")


def _mask(n: int, idx: np.ndarray) -> np.ndarray:
    m = np.zeros(n, dtype=bool)
    m[idx] = True
    return m


def _replace_rows(df: pl.DataFrame, idx: np.ndarray, rows: pl.DataFrame) -> pl.DataFrame:
    keep = df.filter(~pl.Series(_mask(df.height, idx)))
    return pl.concat([keep, rows.select(df.columns).cast(df.schema)]).sort("_order")
