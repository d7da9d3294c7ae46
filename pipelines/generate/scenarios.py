"""Plants the cramp scenarios of `catalog.py` on the cramp patients of a chunk (vectorized per variant)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.generate.catalog import AGE_GROUPS, CRAMP_PATTERNS, FAMILIES, Row
from pipelines.generate.codebook import CodeBook
from pipelines.generate.fields import ANCHOR_DAY, avoid_feb29, choice_index, shift_years

# Index cramps fall early enough that every planted row (up to +700 d pattern, +100 d STOP) is before the anchor.
INDEX_FIRST_DAY = ANCHOR_DAY - 9 * 365
INDEX_LAST_DAY = ANCHOR_DAY - 820
CRAMP_CODE_WEIGHTS = (0.35, 0.2, 0.25, 0.1, 0.1)  # order of the `cramp` pick list


@dataclass
class Planted:
    """Cramp patients of one chunk: `patients` (cp, sex, birth_day, gender_text, scenario) and their planted rows.

    `conditions`: cp, code_system, code, description, start_day, stop_day (code_system ICD10 = WHO ICD-10).
    `observations`: cp, code_system, code, description, day, hour (null = any time), value, units, value_type, trap.
    """

    patients: pl.DataFrame
    conditions: pl.DataFrame
    observations: pl.DataFrame


def plant(rng: np.random.Generator, n: int, codebook: CodeBook) -> Planted:
    """Planted rows for n cramp patients (local index `cp` 0..n-1)."""
    pattern_names = list(CRAMP_PATTERNS)
    pattern = choice_index(rng, [CRAMP_PATTERNS[p][1] for p in pattern_names], n)
    width = max(len(o) for o, _ in CRAMP_PATTERNS.values())
    offsets = np.full((len(pattern_names), width), -1, dtype=np.int64)
    for i, name in enumerate(pattern_names):
        offsets[i, : len(CRAMP_PATTERNS[name][0])] = CRAMP_PATTERNS[name][0]
    index_day = rng.integers(INDEX_FIRST_DAY, INDEX_LAST_DAY, n)
    event_offsets = offsets[pattern]  # n x width, -1 = no event
    has_event = event_offsets >= 0
    event_days = np.where(has_event, index_day[:, None] + event_offsets, -1)
    last_day = event_days.max(axis=1)

    sex = np.where(rng.random(n) < 0.55, "F", "M")
    age_group, birth_day = _ages(rng, index_day, last_day)
    labels: list[pl.DataFrame] = [
        pl.DataFrame({"cp": np.arange(n), "label": np.array(pattern_names)[pattern]}),
        pl.DataFrame({"cp": np.arange(n), "label": np.char.add("age_", age_group)}),
    ]

    cond_parts = [_cramp_events(rng, event_days, has_event, pattern, pattern_names, codebook)]
    obs_parts: list[pl.DataFrame] = []
    gender_text = np.full(n, "", dtype=object)
    n_events = has_event.sum(axis=1)
    for share, variants in FAMILIES.values():
        in_family = rng.random(n) < share
        eligible = np.stack([np.isin(sex, var.sexes) & np.isin(age_group, var.ages) for var in variants], axis=1)
        # Weighted choice among eligible variants: argmax of u ** (1 / weight) (Efraimidis-Spirakis).
        weights = np.array([var.weight for var in variants])
        scores = np.where(eligible, rng.random(eligible.shape) ** (1 / weights), -1.0)
        chosen = scores.argmax(axis=1)
        # A rare variant stays rare even when it is the only one a patient is eligible for.
        keep = in_family & (scores.max(axis=1) >= 0) & (rng.random(n) < weights[chosen])
        chosen = np.where(keep, chosen, -1)
        focus_col = (rng.random(n) * n_events).astype(np.int64)
        focus_day = event_days[np.arange(n), focus_col]
        for vi, variant in enumerate(variants):
            cps = np.flatnonzero(chosen == vi)
            if cps.size == 0:
                continue
            labels.append(pl.DataFrame({"cp": cps, "label": np.full(cps.size, variant.name)}))
            if variant.gender:
                gender_text[cps] = variant.gender
            for row in variant.rows:
                part = _planted_rows(row, cps, focus_day[cps], birth_day[cps], codebook)
                (cond_parts if row.kind == "dx" else obs_parts).append(part)

    patients = pl.DataFrame(
        {"cp": np.arange(n), "sex": sex, "birth_day": birth_day, "gender_text": gender_text.astype(str)}
    ).join(
        pl.concat(labels).group_by("cp", maintain_order=True).agg(pl.col("label").str.join(";").alias("scenario")),
        on="cp",
        how="left",
        maintain_order="left",
    )
    conditions = pl.concat([c for c in cond_parts if c.height]).sort("cp", "start_day", maintain_order=True)
    observations = pl.concat(obs_parts).sort("cp", "day", maintain_order=True) if obs_parts else _empty_observations()
    return Planted(patients, conditions, observations)


def _ages(rng: np.random.Generator, index_day: np.ndarray, last_day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Age group and birth day of each cramp patient, placed relative to the cramp days."""
    names = list(AGE_GROUPS)
    group = np.array(names)[choice_index(rng, [AGE_GROUPS[g][0] for g in names], len(index_day))]
    group = np.where((group == "turns65") & (last_day <= index_day), "elderly", group)
    lo = np.array([AGE_GROUPS[g][1] for g in group])
    hi = np.array([AGE_GROUPS[g][2] for g in group])
    years = lo + rng.random(len(group)) * (hi - lo)
    birth = index_day - np.round(years * 365.2425).astype(np.int64)
    # 65th birthday strictly after the index cramp, on or before the last one, within a year (64 at index).
    span = np.clip(last_day - index_day, 1, 364)
    birthday65 = index_day + 1 + (rng.random(len(group)) * span).astype(np.int64)
    birth = np.where(group == "turns65", shift_years(birthday65, -65), birth)
    birth = np.where(group == "birthday65", shift_years(index_day, -65), birth)
    return group, avoid_feb29(birth)


def _cramp_events(
    rng: np.random.Generator,
    event_days: np.ndarray,
    has_event: np.ndarray,
    pattern: np.ndarray,
    pattern_names: list[str],
    codebook: CodeBook,
) -> pl.DataFrame:
    picks = codebook.picks("cramp")
    code_idx = choice_index(rng, CRAMP_CODE_WEIGHTS, event_days.size).reshape(event_days.shape)
    # Same-day repeats carry a different code (two diagnoses of one day, one distinct cramp day).
    same_as_prev = np.zeros_like(has_event)
    same_as_prev[:, 1:] = event_days[:, 1:] == event_days[:, :-1]
    code_idx = np.where(same_as_prev, (np.roll(code_idx, 1, axis=1) + 1) % len(picks), code_idx)
    cp, col = np.nonzero(has_event)
    idx = code_idx[cp, col]
    return pl.DataFrame(
        {
            "cp": cp,
            "code_system": np.array([p.code_system for p in picks])[idx],
            "code": np.array([p.code for p in picks])[idx],
            "description": np.array([p.description for p in picks])[idx],
            "start_day": event_days[cp, col],
            "stop_day": pl.Series([None] * cp.size, dtype=pl.Int64),
        },
        schema_overrides={"start_day": pl.Int64},
    )


def _planted_rows(
    row: Row, cps: np.ndarray, focus_day: np.ndarray, birth_day: np.ndarray, codebook: CodeBook
) -> pl.DataFrame:
    # Never before birth (that would be a quarantined row, not a scenario).
    day = np.maximum(focus_day + row.offset, birth_day + 1)
    n = cps.size
    if row.kind == "dx":
        pick = codebook.pick(row.name, row.index)
        stop = None if row.stop is None else np.maximum(focus_day + row.stop, day)
        return pl.DataFrame(
            {
                "cp": cps,
                "code_system": np.full(n, row.system or pick.code_system),
                "code": np.full(n, pick.code),
                "description": np.full(n, pick.description),
                "start_day": day,
                "stop_day": pl.Series(stop if stop is not None else [None] * n, dtype=pl.Int64),
            }
        )
    pick = codebook.lab(row.name, row.index)
    return pl.DataFrame(
        {
            "cp": cps,
            "code_system": np.full(n, pick.code_system),
            "code": np.full(n, pick.code),
            "description": np.full(n, pick.description),
            "day": day,
            "hour": pl.Series([row.hour] * n, dtype=pl.Float64),
            "value": np.full(n, row.value),
            "units": np.full(n, row.units),
            "value_type": np.full(n, "numeric" if row.kind == "lab" else "text"),
            "trap": np.full(n, row.trap),
        }
    )


def _empty_observations() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "cp": pl.Int64,
            "code_system": pl.String,
            "code": pl.String,
            "description": pl.String,
            "day": pl.Int64,
            "hour": pl.Float64,
            "value": pl.String,
            "units": pl.String,
            "value_type": pl.String,
            "trap": pl.String,
        }
    )
