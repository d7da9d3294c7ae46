"""Small vectorized helpers shared by the generator modules: ids, the time anchor, date/time text."""

from __future__ import annotations

import binascii
from datetime import date

import numpy as np
import polars as pl

# Every generated event lies before this fixed date, so outputs are reproducible and never "future".
ANCHOR = date(2026, 6, 30)
ANCHOR_DAY = (ANCHOR - date(1970, 1, 1)).days
DAY = 86_400

TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DATE_FORMAT = "%Y-%m-%d"


def uuids(rng: np.random.Generator, n: int) -> pl.Series:
    """n random UUID-shaped ids (Synthea's Id format), built without a per-row Python loop."""
    if n == 0:
        return pl.Series([], dtype=pl.String)
    hexed = np.frombuffer(binascii.hexlify(rng.bytes(16 * n)), dtype=np.uint8).reshape(n, 32)
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    for dst, src in (
        ((0, 8), (0, 8)),
        ((9, 13), (8, 12)),
        ((14, 18), (12, 16)),
        ((19, 23), (16, 20)),
        ((24, 36), (20, 32)),
    ):
        out[:, dst[0] : dst[1]] = hexed[:, src[0] : src[1]]
    return pl.Series(np.frombuffer(out.tobytes(), dtype="S36")).cast(pl.String)


def ts_text(seconds: pl.Expr) -> pl.Expr:
    """Epoch seconds -> `YYYY-MM-DDTHH:MM:SSZ`."""
    return pl.from_epoch(seconds, time_unit="s").dt.strftime(TS_FORMAT)


def date_text(days: pl.Expr) -> pl.Expr:
    """Epoch days -> `YYYY-MM-DD`."""
    return days.cast(pl.Int32).cast(pl.Date).dt.strftime(DATE_FORMAT)


def shift_years(days: np.ndarray, years: int) -> np.ndarray:
    """Calendar shift by whole years (Feb 29 -> Feb 28), on epoch days."""
    shifted = pl.Series(days.astype(np.int32)).cast(pl.Date).dt.offset_by(f"{years}y")
    return shifted.cast(pl.Int32).to_numpy().astype(np.int64)


def avoid_feb29(days: np.ndarray) -> np.ndarray:
    """Birthdays on Feb 29 make "age in whole years" depend on a convention: move them to Feb 28."""
    as_date = pl.Series(days.astype(np.int32)).cast(pl.Date)
    leap_day = ((as_date.dt.month() == 2) & (as_date.dt.day() == 29)).to_numpy()
    return np.where(leap_day, days - 1, days)


def choice_index(rng: np.random.Generator, weights: list[float] | np.ndarray, n: int) -> np.ndarray:
    """n draws of an index with the given (unnormalized) weights."""
    w = np.asarray(weights, dtype=float)
    return np.searchsorted(np.cumsum(w / w.sum()), rng.random(n), side="right").clip(0, len(w) - 1)
