"""Encounters and event rows of one chunk, in an internal numeric form (times as epoch seconds).

Background rows use codes outside every value set; non-cramp patients also get some risk-factor codes and
calcium/albumin/magnesium panels in mixed units (they are not in the cohort, so this is realistic noise).
Each planted row gets its own encounter on its day, so natural keys never collide.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.generate.codebook import CodeBook
from pipelines.generate.fields import ANCHOR_DAY, DAY, choice_index, uuids
from pipelines.generate.scenarios import Planted

HISTORY_DAYS = 10 * 365
RISK_PICK_LISTS = (
    "diabetes",
    "neuropathy",
    "pad",
    "hepatitis_c",
    "structural_foot",
    "restless_legs",
    "thyroid_disease",
    "pregnancy",
)
# Mineral panel units as labs deliver them, including case and spacing variants (all known units).
PANEL_UNITS = {
    "calcium_total": (("mg/dL", 1.0), ("mmol/L", 1 / 4.008), ("MG/DL", 1.0), (" mmol/l", 1 / 4.008)),
    "albumin": (("g/dL", 1.0), ("g/L", 10.0), ("G/DL ", 1.0)),
    "magnesium": (("mg/dL", 1.0), ("mmol/L", 1 / 2.431), ("mEq/L", 1 / 1.2155)),
}
PANEL_RANGES = {"calcium_total": (8.6, 10.2), "albumin": (3.5, 5.0), "magnesium": (1.7, 2.4)}


def build_events(
    rng: np.random.Generator, people: pl.DataFrame, planted: Planted, cramp_pids: np.ndarray, codebook: CodeBook
) -> dict[str, pl.DataFrame]:
    """Internal frames: encounters, conditions, observations, medications, procedures."""
    n = people.height
    birth = people["birth_day"].to_numpy()
    death = people["death_day"].fill_null(ANCHOR_DAY).to_numpy()
    cramp = people["cramp"].to_numpy()
    lo = np.maximum(birth, ANCHOR_DAY - HISTORY_DAYS)
    hi = np.minimum(death, ANCHOR_DAY - 1)

    n_enc = 1 + rng.poisson(np.where(cramp, 4, 9))
    enc = _encounters(rng, np.repeat(np.arange(n), n_enc), lo, hi, codebook)
    first_enc = np.concatenate([[0], np.cumsum(n_enc)[:-1]])

    def attach(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pid = np.repeat(np.arange(n), counts)
        row = first_enc[pid] + (rng.random(pid.size) * n_enc[pid]).astype(np.int64)
        return pid, row

    cond = _conditions(rng, *attach(rng.poisson(8, n)), enc, cramp, people["sex"].to_numpy(), hi, codebook)
    obs = _observations(rng, *attach(rng.poisson(19, n)), enc, codebook)
    panel = _panels(rng, *attach(np.where(cramp, 0, rng.random(n) < 0.3).astype(np.int64)), enc, codebook)
    qol = _qol(rng, n, lo, hi, codebook)
    meds = _medications(rng, *attach(rng.poisson(3, n)), enc, hi, codebook)
    procs = _procedures(rng, *attach(rng.poisson(3, n)), enc, codebook)

    p_enc, p_cond, p_obs = _planted_frames(rng, planted, cramp_pids, codebook)
    tables = {
        "encounters": pl.concat([enc.drop("row"), p_enc], how="diagonal_relaxed"),
        "conditions": pl.concat([cond, p_cond], how="diagonal_relaxed"),
        "observations": pl.concat([obs, panel, qol, p_obs], how="diagonal_relaxed"),
        "medications": meds,
        "procedures": procs,
    }
    return {
        name: df.with_columns(pl.Series("cramp", cramp[df["pid"].to_numpy()])).sort(
            "pid", "start_s", maintain_order=True
        )
        for name, df in tables.items()
    }


def _encounters(
    rng: np.random.Generator, pid: np.ndarray, lo: np.ndarray, hi: np.ndarray, codebook: CodeBook
) -> pl.DataFrame:
    day = lo[pid] + (rng.random(pid.size) * (hi[pid] - lo[pid] + 1)).astype(np.int64)
    start = day * DAY + rng.integers(6 * 3600, 20 * 3600, pid.size)
    order = np.lexsort((start, pid))
    pid, start = pid[order], start[order]
    kinds = codebook.background_of("encounter")
    k = choice_index(rng, [0.35, 0.2, 0.2, 0.1, 0.08, 0.05, 0.02], pid.size)
    base = np.round(80 + rng.random(pid.size) * 120, 2)
    return pl.DataFrame(
        {
            "pid": pid,
            "row": np.arange(pid.size),
            "encounter_id": uuids(rng, pid.size),
            "start_s": start,
            "stop_s": start + rng.integers(15, 60, pid.size) * 60,
            "enc_class": kinds["category"].gather(k),
            "code": kinds["code"].gather(k),
            "description": kinds["description"].gather(k),
            "base_cost": base,
            "claim_cost": np.round(base * (1 + rng.random(pid.size) * 8), 2),
        }
    )


def _conditions(
    rng: np.random.Generator,
    pid: np.ndarray,
    row: np.ndarray,
    enc: pl.DataFrame,
    cramp: np.ndarray,
    sex: np.ndarray,
    hi: np.ndarray,
    codebook: CodeBook,
) -> pl.DataFrame:
    m = pid.size
    bg = codebook.background_of("condition")
    is_icd = (bg["code_system"] == "ICD10CM").to_numpy()
    icd_idx, snomed_idx = np.flatnonzero(is_icd), np.flatnonzero(~is_icd)
    want_icd = rng.random(m) < 0.2
    k = np.where(want_icd, icd_idx[rng.integers(0, icd_idx.size, m)], snomed_idx[rng.integers(0, snomed_idx.size, m)])
    # Non-cramp patients may carry risk-factor codes (they are not in the cohort); pregnancy only for women.
    risk = [p for name in RISK_PICK_LISTS for p in codebook.picks(name)]
    is_preg = np.array([p in codebook.picks("pregnancy") for p in risk])
    r = rng.integers(0, len(risk), m)
    use_risk = (~cramp[pid]) & (rng.random(m) < 0.05) & ~(is_preg[r] & (sex[pid] != "F"))
    # One lookup table: background rows first, then the risk picks.
    table = pl.DataFrame(
        {
            "code_system": [*bg["code_system"], *(p.code_system for p in risk)],
            "code": [*bg["code"], *(p.code for p in risk)],
            "description": [*bg["description"], *(p.description for p in risk)],
        }
    )
    looked_up = table[np.where(use_risk, bg.height + r, k)]
    start = enc["start_s"].to_numpy()[row]
    start_day = start // DAY
    stop_day = start_day + rng.integers(7, 400, m)
    has_stop = (rng.random(m) < 0.4) & (stop_day <= hi[pid])
    return pl.DataFrame(
        {
            "pid": pid,
            "encounter_id": enc["encounter_id"].gather(row),
            "start_s": start,
            "start_day": start_day,
            "stop_day": np.where(has_stop, stop_day, -1),
            "code_system": looked_up["code_system"],
            "code": looked_up["code"],
            "description": looked_up["description"],
            "variant": rng.integers(0, 1000, m),
        }
    ).with_columns(pl.when(pl.col("stop_day") >= 0).then("stop_day").otherwise(None).alias("stop_day"))


def _observations(
    rng: np.random.Generator, pid: np.ndarray, row: np.ndarray, enc: pl.DataFrame, codebook: CodeBook
) -> pl.DataFrame:
    bg = codebook.background_of("observation")
    k = rng.integers(0, bg.height, pid.size)
    lo, hi = bg["low"].fill_null(0).to_numpy()[k], bg["high"].fill_null(0).to_numpy()[k]
    scale = 10.0 ** bg["decimals"].fill_null(0).to_numpy()[k]
    value = pl.Series(np.round((lo + rng.random(pid.size) * (hi - lo)) * scale) / scale).cast(pl.String)
    texts = [(t or "").split("|") for t in bg["text_values"].to_list()]
    text_pick = pl.Series([t[i % len(t)] for t in texts for i in range(3)])
    is_text = pl.Series((bg["value_type"] == "text").to_numpy()[k])
    text_value = text_pick.gather(k * 3 + rng.integers(0, 3, pid.size))
    value_text = pl.select(pl.when(is_text).then(text_value).otherwise(value)).to_series()
    return pl.DataFrame(
        {
            "pid": pid,
            "encounter_id": enc["encounter_id"].gather(row),
            "start_s": enc["start_s"].to_numpy()[row],
            "category": bg["category"].gather(k),
            "code": bg["code"].gather(k),
            "description": bg["description"].gather(k),
            "value": value_text,
            "units": bg["units"].fill_null("").gather(k),
            "value_type": bg["value_type"].gather(k),
        }
    )


def _panels(
    rng: np.random.Generator, pid: np.ndarray, row: np.ndarray, enc: pl.DataFrame, codebook: CodeBook
) -> pl.DataFrame:
    """Calcium, albumin and magnesium on one encounter, normal values in a mix of units."""
    parts = []
    for measure, units in PANEL_UNITS.items():
        pick = codebook.lab(measure)
        lo, hi = PANEL_RANGES[measure]
        u = rng.integers(0, len(units), pid.size)
        factor = np.array([f for _, f in units])[u]
        value = np.round((lo + rng.random(pid.size) * (hi - lo)) * factor, 2)
        parts.append(
            pl.DataFrame(
                {
                    "pid": pid,
                    "encounter_id": enc["encounter_id"].gather(row),
                    "start_s": enc["start_s"].to_numpy()[row] + 60,
                    "category": "laboratory",
                    "code": pick.code,
                    "description": pick.description,
                    "value": pl.Series(value).cast(pl.String),
                    "units": pl.Series([s for s, _ in units]).gather(u),
                    "value_type": "numeric",
                    "measure": measure,
                }
            )
        )
    return pl.concat(parts)


def _qol(rng: np.random.Generator, n: int, lo: np.ndarray, hi: np.ndarray, codebook: CodeBook) -> pl.DataFrame:
    """QALY/DALY/QOLS rows without an encounter, as Synthea writes them (a few per patient)."""
    bg = codebook.background_of("qol")
    years = rng.poisson(0.35, n)
    pid = np.repeat(np.arange(n), years)
    day = lo[pid] + (rng.random(pid.size) * (hi[pid] - lo[pid] + 1)).astype(np.int64)
    start = day * DAY + 12 * 3600
    parts = []
    for r in bg.iter_rows(named=True):
        scale = 10.0 ** (r["decimals"] or 0)
        value = np.round((r["low"] + rng.random(pid.size) * (r["high"] - r["low"])) * scale) / scale
        parts.append(
            pl.DataFrame(
                {
                    "pid": pid,
                    "start_s": start,
                    "code": r["code"],
                    "description": r["description"],
                    "value": pl.Series(value).cast(pl.String),
                    "units": r["units"],
                    "value_type": "numeric",
                }
            )
        )
    return pl.concat(parts).unique(["pid", "start_s", "code"], keep="first", maintain_order=True)


def _medications(
    rng: np.random.Generator,
    pid: np.ndarray,
    row: np.ndarray,
    enc: pl.DataFrame,
    hi: np.ndarray,
    codebook: CodeBook,
) -> pl.DataFrame:
    bg = codebook.background_of("medication")
    k = rng.integers(0, bg.height, pid.size)
    start = enc["start_s"].to_numpy()[row]
    stop = start + rng.integers(7, 365, pid.size) * DAY
    has_stop = (rng.random(pid.size) < 0.7) & (stop // DAY <= hi[pid])
    return pl.DataFrame(
        {
            "pid": pid,
            "encounter_id": enc["encounter_id"].gather(row),
            "start_s": start,
            "stop_s": np.where(has_stop, stop, -1),
            "code": bg["code"].gather(k),
            "description": bg["description"].gather(k),
            "base_cost": np.round(1 + rng.random(pid.size) * 200, 2),
            "dispenses": rng.integers(1, 12, pid.size),
        }
    ).with_columns(pl.when(pl.col("stop_s") >= 0).then("stop_s").otherwise(None).alias("stop_s"))


def _procedures(
    rng: np.random.Generator, pid: np.ndarray, row: np.ndarray, enc: pl.DataFrame, codebook: CodeBook
) -> pl.DataFrame:
    bg = codebook.background_of("procedure")
    k = rng.integers(0, bg.height, pid.size)
    start = enc["start_s"].to_numpy()[row]
    return pl.DataFrame(
        {
            "pid": pid,
            "encounter_id": enc["encounter_id"].gather(row),
            "start_s": start,
            "stop_s": start + rng.integers(5, 30, pid.size) * 60,
            "code": bg["code"].gather(k),
            "description": bg["description"].gather(k),
            "base_cost": np.round(100 + rng.random(pid.size) * 900, 2),
            "variant": rng.integers(0, 1000, pid.size),
        }
    )


def _planted_frames(
    rng: np.random.Generator, planted: Planted, cramp_pids: np.ndarray, codebook: CodeBook
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Planted conditions and observations, each with an encounter of its own on its day."""
    cond, obs = planted.conditions, planted.observations
    days = np.concatenate([cond["start_day"].to_numpy(), obs["day"].to_numpy()])
    cps = np.concatenate([cond["cp"].to_numpy(), obs["cp"].to_numpy()])
    start = days * DAY + rng.integers(7 * 3600, 18 * 3600, days.size)
    # a lab planted at a fixed time of day (albumin pairing by the hour) keeps it
    hours = obs["hour"].to_numpy()
    fixed = ~np.isnan(hours)
    start[cond.height :][fixed] = obs["day"].to_numpy()[fixed] * DAY + np.round(hours[fixed] * 3600).astype(np.int64)
    visit = codebook.background_of("encounter").row(2, named=True)  # an "encounter for symptom"
    base = np.round(80 + rng.random(days.size) * 120, 2)
    enc = pl.DataFrame(
        {
            "pid": cramp_pids[cps],
            "encounter_id": uuids(rng, days.size),
            "start_s": start,
            "stop_s": start + 1800,
            "enc_class": visit["category"],
            "code": visit["code"],
            "description": visit["description"],
            "base_cost": base,
            "claim_cost": np.round(base * 3, 2),
        }
    )
    nc = cond.height
    p_cond = cond.select(
        pl.Series("pid", cramp_pids[cond["cp"].to_numpy()]),
        enc["encounter_id"].slice(0, nc),
        pl.Series("start_s", start[:nc]),
        "start_day",
        "stop_day",
        "code_system",
        "code",
        "description",
        pl.Series("variant", rng.integers(0, 1000, nc)),
        pl.lit(True).alias("planted"),
    )
    p_obs = obs.select(
        pl.Series("pid", cramp_pids[obs["cp"].to_numpy()]),
        enc["encounter_id"].slice(nc, obs.height),
        pl.Series("start_s", start[nc:]),
        pl.lit("laboratory").alias("category"),
        "code",
        "description",
        "value",
        "units",
        "value_type",
        pl.col("trap").replace("", None),
        pl.lit(True).alias("planted"),
    )
    return enc, p_cond, p_obs
