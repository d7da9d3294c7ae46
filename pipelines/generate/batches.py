"""Splits a chunk's rows over K delivery batches in time.

Batch k (0-based) holds the events of the month ending at its cutoff (the first batch: all history up to its
cutoff); batch ids are the cutoff dates, so they sort in delivery order. Later batches re-deliver:
- some rows unchanged (the older copy becomes "superseded"),
- a condition whose STOP falls in a later batch: first without STOP, then again with it (an update),
- a patient in every batch where they have encounters, DEATHDATE filled from the batch that covers the death.
The final state (what the truth describes) is the full data.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.generate.fields import ANCHOR_DAY, date_text
from pipelines.generate.population import patients_output

MONTH = 30
REDELIVERY_RATE = 0.02


def cutoffs(n_batches: int) -> np.ndarray:
    """Last event day of each batch (epoch days)."""
    return ANCHOR_DAY - MONTH * (n_batches - 1 - np.arange(n_batches))


def batch_ids(n_batches: int) -> list[str]:
    return pl.select(date_text(pl.Series(cutoffs(n_batches)))).to_series().to_list()


def batch_of(days: pl.Series | np.ndarray, n_batches: int) -> np.ndarray:
    return np.searchsorted(cutoffs(n_batches), np.asarray(days), side="left").clip(0, n_batches - 1)


def split(
    tables: dict[str, pl.DataFrame], people: pl.DataFrame, n_batches: int, rng: np.random.Generator
) -> dict[str, pl.DataFrame]:
    """Adds `_batch`, `_has_copy`, `_is_copy` and orders rows as they will be written."""
    out: dict[str, pl.DataFrame] = {}
    for name, df in tables.items():
        df = df.with_columns(
            pl.Series("_batch", batch_of(df["_day"].to_numpy(), n_batches)),
            pl.lit(False).alias("_has_copy"),
            pl.lit(False).alias("_is_copy"),
        )
        if n_batches > 1:
            if name == "conditions":
                df = _stop_updates(df, n_batches)
            df = _redeliveries(df, n_batches, rng)
        out[name] = df
    out["patients"] = _patients(people, out["encounters"], out["observations"], n_batches)
    return {name: df.sort("_batch", "_pid", "_t", maintain_order=True) for name, df in out.items()}


def _stop_updates(df: pl.DataFrame, n_batches: int) -> pl.DataFrame:
    stop_batch = pl.Series(batch_of(df["_stop_day"].fill_null(0).to_numpy(), n_batches))
    later = (df["_stop_day"].is_not_null() & (stop_batch > df["_batch"])).to_numpy()
    if not later.any():
        return df
    copies = df.filter(later).with_columns(
        pl.Series("_batch", stop_batch.filter(later)), pl.lit(True).alias("_is_copy")
    )
    originals = df.with_columns(
        pl.when(pl.Series(later)).then(None).otherwise(pl.col("STOP")).alias("STOP"),
        pl.Series("_has_copy", later),
    )
    return pl.concat([originals, copies])


def _redeliveries(df: pl.DataFrame, n_batches: int, rng: np.random.Generator) -> pl.DataFrame:
    pick = (rng.random(df.height) < REDELIVERY_RATE) & (df["_batch"] < n_batches - 1).to_numpy()
    pick &= ~(df["_has_copy"] | df["_is_copy"]).to_numpy()
    if not pick.any():
        return df
    copies = df.filter(pick).with_columns((pl.col("_batch") + 1).alias("_batch"), pl.lit(True).alias("_is_copy"))
    return pl.concat([df.with_columns(pl.col("_has_copy") | pl.Series(pick)), copies])


def _patients(
    people: pl.DataFrame, encounters: pl.DataFrame, observations: pl.DataFrame, n_batches: int
) -> pl.DataFrame:
    """One patient row per batch with activity (and the batch of the death), the first being the earliest."""
    # New activity only: a re-delivered event row refers to a patient delivered before.
    activity = pl.concat([df.filter(~pl.col("_is_copy")).select("_pid", "_batch") for df in (encounters, observations)])
    deaths = people.filter(pl.col("death_day").is_not_null()).select(
        pl.col("pid").alias("_pid"),
        pl.Series(batch_of(people["death_day"].drop_nulls().to_numpy(), n_batches)).alias("_batch"),
    )
    visits = pl.concat([activity, deaths.cast(activity.schema)]).unique().sort("_pid", "_batch")
    rows = visits.join(people.rename({"pid": "_pid"}), on="_pid", how="left", maintain_order="left").with_columns(
        pl.Series("_cutoff", cutoffs(n_batches)[visits["_batch"].to_numpy()]),
        (pl.col("_batch") == pl.col("_batch").min().over("_pid")).alias("_first"),
        (pl.col("_batch") == pl.col("_batch").max().over("_pid")).alias("_last"),
    )
    text = patients_output(rows, pl.col("death_day") <= pl.col("_cutoff"))
    return text.with_columns(
        rows["_pid"],
        rows["cramp"].alias("_cramp"),
        rows["birth_day"].alias("_day"),
        pl.lit(0, dtype=pl.Int64).alias("_t"),
        pl.col("Id").alias("_key"),
        rows["birth_day"].alias("_birth_day"),
        rows["death_day"].alias("_death_day"),
        rows["_batch"],
        (~rows["_last"]).alias("_has_copy"),
        (~rows["_first"]).alias("_is_copy"),
    )
