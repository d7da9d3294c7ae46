"""The patients of one chunk: ages 0-100, both sexes, some deaths, Synthea-like demographics (all invented)."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.generate.fields import ANCHOR_DAY, avoid_feb29, date_text, uuids

FIRST_F = ("Maude", "Ana", "Lucia", "Grace", "Mei", "Fatima", "Olga", "Joan", "Priya", "Rosa", "Emma", "Zoe")
FIRST_M = ("Jorge", "Liam", "Omar", "Kenji", "Ivan", "Noah", "Tariq", "Luis", "Pedro", "Sam", "Ali", "Ben")
LAST = ("Vela", "Wunsch", "Okafor", "Nguyen", "Smith", "Garcia", "Kowalski", "Haddad", "Ito", "Brown", "Rossi")
CITIES = (
    ("Visalia", "Tulare County", "06107", "93291"),
    ("Long Beach", "Los Angeles County", "06037", "90804"),
    ("Fresno", "Fresno County", "06019", "93701"),
    ("Oakland", "Alameda County", "06001", "94601"),
    ("San Diego", "San Diego County", "06073", "92101"),
)
RACES = ("white", "black", "asian", "native", "other")
RACE_WEIGHTS = np.array([0.6, 0.12, 0.15, 0.03, 0.10])
MARITAL = ("M", "S", "D", "W", "")
# GENDER as some extracts spell it (the pipeline reads M / MALE and F / FEMALE, trimmed, any case)
GENDER_SPELLINGS = {"M": ("Male", "MALE", "male", " M"), "F": ("Female", "FEMALE", "female", "F\t")}
GENDER_SPELLED_SHARE = 0.1


def population(
    rng: np.random.Generator,
    n: int,
    cramp: np.ndarray,
    cramp_sex: np.ndarray,
    cramp_birth: np.ndarray,
    cramp_gender_text: np.ndarray | None = None,
) -> pl.DataFrame:
    """Internal patients frame: pid, patient_id, birth_day, death_day (null = alive), sex, cramp + text columns.

    Cramp patients get the sex and birth day their scenarios were planted for (and the GENDER spelling a scenario
    asks for), and no DEATHDATE. `sex` is always M or F; `_gender_text` is GENDER as written.
    """
    age_days = (rng.beta(1.3, 1.6, n) * 100 * 365.2425).astype(np.int64)
    birth = ANCHOR_DAY - 2 - age_days
    sex = np.where(rng.random(n) < 0.5, "F", "M")
    birth[cramp] = cramp_birth
    sex[cramp] = cramp_sex
    birth = avoid_feb29(birth)
    dead = (rng.random(n) < 0.08) & ~cramp
    death_lo = np.maximum(birth, ANCHOR_DAY - 3000) + 1
    death = death_lo + (rng.random(n) * (ANCHOR_DAY - 1 - death_lo)).astype(np.int64)
    city = rng.integers(0, len(CITIES), n)
    first = np.where(sex == "F", np.array(FIRST_F)[rng.integers(0, 12, n)], np.array(FIRST_M)[rng.integers(0, 12, n)])
    race = np.array(RACES)[np.searchsorted(np.cumsum(RACE_WEIGHTS), rng.random(n), side="right").clip(0, 4)]
    adult = (ANCHOR_DAY - birth) > 18 * 365
    spelling = rng.integers(0, 4, n)
    spelled = np.where(
        sex == "M", np.array(GENDER_SPELLINGS["M"])[spelling], np.array(GENDER_SPELLINGS["F"])[spelling]
    )
    gender_text = np.where(rng.random(n) < GENDER_SPELLED_SHARE, spelled, sex).astype(object)
    if cramp_gender_text is not None:
        chosen = np.asarray(cramp_gender_text, dtype=object)
        gender_text[np.flatnonzero(cramp)[chosen != ""]] = chosen[chosen != ""]
    frame = pl.DataFrame(
        {
            "pid": np.arange(n),
            "patient_id": uuids(rng, n),
            "birth_day": birth,
            "death_day": pl.Series(np.where(dead, death, 0), dtype=pl.Int64),
            "dead": dead,
            "sex": sex,
            "_gender_text": gender_text.astype(str),
            "cramp": cramp,
            "_first": first,
            "_first_n": rng.integers(10, 999, n),
            "_last": np.array(LAST)[rng.integers(0, len(LAST), n)],
            "_last_n": rng.integers(10, 999, n),
            "_ssn": rng.integers(10_000, 999_999, n),
            "_street": rng.integers(1, 9999, n),
            "_city": city,
            "MARITAL": np.where(adult, np.array(MARITAL)[rng.integers(0, 5, n)], ""),
            "RACE": race,
            "ETHNICITY": np.where(rng.random(n) < 0.2, "hispanic", "nonhispanic"),
            "LAT": np.round(32.7 + rng.random(n) * 5, 6),
            "LON": np.round(-122.3 + rng.random(n) * 5, 6),
            "HEALTHCARE_EXPENSES": np.round(rng.random(n) * 900_000, 2),
            "HEALTHCARE_COVERAGE": np.round(rng.random(n) * 50_000, 2),
            "INCOME": rng.integers(15_000, 250_000, n),
        }
    ).with_columns(pl.when(pl.col("dead")).then(pl.col("death_day")).otherwise(None).alias("death_day"))
    cities = pl.DataFrame(
        {
            "_city": range(len(CITIES)),
            "CITY": [c[0] for c in CITIES],
            "COUNTY": [c[1] for c in CITIES],
            "FIPS": [c[2] for c in CITIES],
            "ZIP": [c[3] for c in CITIES],
        }
    )
    return frame.join(cities, on="_city", how="left", maintain_order="left").with_columns(
        pl.col("_city").cast(pl.Int64)
    )


def patients_output(people: pl.DataFrame, death_known: pl.Expr) -> pl.DataFrame:
    """Synthea's patients.csv columns (text) from the internal frame; DEATHDATE only where `death_known`."""
    is_f = pl.col("sex") == "F"
    married_f = is_f & (pl.col("MARITAL") == "M")
    return people.select(
        pl.col("patient_id").alias("Id"),
        date_text(pl.col("birth_day")).alias("BIRTHDATE"),
        pl.when(death_known).then(date_text(pl.col("death_day"))).otherwise(None).alias("DEATHDATE"),
        pl.format(
            "999-{}-{}",
            (pl.col("_ssn") // 10_000).cast(pl.String).str.zfill(2),
            (pl.col("_ssn") % 10_000).cast(pl.String).str.zfill(4),
        ).alias("SSN"),
        pl.format("S99{}", pl.col("_ssn").cast(pl.String).str.zfill(7)).alias("DRIVERS"),
        pl.format("X{}X", (pl.col("_ssn") * 7).cast(pl.String).str.zfill(8)).alias("PASSPORT"),
        pl.when(pl.col("MARITAL") == "")
        .then(None)
        .when(is_f)
        .then(pl.lit("Ms."))
        .otherwise(pl.lit("Mr."))
        .alias("PREFIX"),
        pl.format("{}{}", "_first", "_first_n").alias("FIRST"),
        pl.lit(None, dtype=pl.String).alias("MIDDLE"),
        pl.format("{}{}", "_last", "_last_n").alias("LAST"),
        pl.lit(None, dtype=pl.String).alias("SUFFIX"),
        pl.when(married_f).then(pl.format("{}{}", "_last", "_first_n")).otherwise(None).alias("MAIDEN"),
        pl.col("MARITAL").replace("", None),
        "RACE",
        "ETHNICITY",
        pl.col("_gender_text").alias("GENDER"),
        pl.format("{}  California  US", "CITY").alias("BIRTHPLACE"),
        pl.format("{} Hills Branch", pl.col("_street").cast(pl.String)).alias("ADDRESS"),
        "CITY",
        pl.lit("California").alias("STATE"),
        "COUNTY",
        "FIPS",
        "ZIP",
        pl.col("LAT").cast(pl.String),
        pl.col("LON").cast(pl.String),
        pl.col("HEALTHCARE_EXPENSES").cast(pl.String),
        pl.col("HEALTHCARE_COVERAGE").cast(pl.String),
        pl.col("INCOME").cast(pl.String),
    )
