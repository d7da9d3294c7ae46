"""Internal event frames -> Synthea 3.x text columns, plus underscore columns the later steps need.

Underscore columns (never written): `_pid`, `_cramp`, `_day` (event day, decides the batch), `_t` (time, file
order), `_key` (the staging natural key, normalized as staging will: SYSTEM -> SNOMED/ICD10CM, ICD-10-CM code
without the dot, dates as dates), `_birth_day`, `_death_day`, `_stop_day`, `_measure`, `_trap`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.contract.synthea import LAYOUTS
from pipelines.generate.fields import DAY, date_text, ts_text, uuids

# The file format is the input contract's (contract/synthea.py); the generator decides only the values.
COLUMNS: dict[str, tuple[str, ...]] = {name: layout.columns for name, layout in LAYOUTS.items()}
DATE_COLUMN = {
    "patients": "BIRTHDATE",
    "encounters": "START",
    "conditions": "START",
    "observations": "DATE",
    "medications": "START",
    "procedures": "START",
}
TEXT_COLUMN = {
    "patients": "FIRST",
    "encounters": "DESCRIPTION",
    "conditions": "DESCRIPTION",
    "observations": "DESCRIPTION",
    "medications": "DESCRIPTION",
    "procedures": "DESCRIPTION",
}
# SYSTEM as extracts write it, by the row's variant (0-9): the accepted labels, in any case, with white space
# around them, or blank for SNOMED CT. WHO ICD-10 (internal system ICD10) is written "ICD-10" and never matches.
SYSTEM_TEXT = {
    "SNOMED": ("SNOMED-CT",) * 6 + ("http://snomed.info/sct",) * 2 + ("", "snomed-ct\t"),
    "ICD10CM": ("ICD-10-CM",) * 6
    + ("http://hl7.org/fhir/sid/icd-10-cm",) * 2
    + (" icd-10-cm\t", "Http://Hl7.Org/fhir/sid/icd-10-cm"),
    "ICD10": ("ICD-10",) * 10,
}


class Pools:
    """Organizations, providers and payers shared by all chunks of a run (ids only)."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng([seed, 999_999])
        self.organizations = uuids(rng, 20)
        self.providers = uuids(rng, 60)
        self.payers = uuids(rng, 6)


def text_tables(
    events: dict[str, pl.DataFrame], people: pl.DataFrame, pools: Pools, rng: np.random.Generator
) -> dict[str, pl.DataFrame]:
    """Output-shaped frames (Synthea columns as text + underscore columns) for the event tables."""
    person = people.select(
        pl.col("pid"),
        pl.col("patient_id").alias("PATIENT"),
        pl.col("birth_day").alias("_birth_day"),
        pl.col("death_day").alias("_death_day"),
    )

    def with_person(df: pl.DataFrame) -> pl.DataFrame:
        return df.join(person, on="pid", how="left", maintain_order="left")

    def pool(series: pl.Series, n: int) -> pl.Series:
        return series.gather(rng.integers(0, series.len(), n))

    enc = with_person(events["encounters"])
    enc = enc.with_columns(
        pool(pools.organizations, enc.height).alias("ORGANIZATION"),
        pool(pools.providers, enc.height).alias("PROVIDER"),
        pool(pools.payers, enc.height).alias("PAYER"),
    )
    out = {
        "encounters": enc.select(
            pl.col("encounter_id").alias("Id"),
            ts_text(pl.col("start_s")).alias("START"),
            ts_text(pl.col("stop_s")).alias("STOP"),
            "PATIENT",
            "ORGANIZATION",
            "PROVIDER",
            "PAYER",
            pl.col("enc_class").alias("ENCOUNTERCLASS"),
            pl.col("code").alias("CODE"),
            pl.col("description").alias("DESCRIPTION"),
            pl.col("base_cost").cast(pl.String).alias("BASE_ENCOUNTER_COST"),
            pl.col("claim_cost").cast(pl.String).alias("TOTAL_CLAIM_COST"),
            (pl.col("claim_cost") * 0.8).round(2).cast(pl.String).alias("PAYER_COVERAGE"),
            pl.lit(None, dtype=pl.String).alias("REASONCODE"),
            pl.lit(None, dtype=pl.String).alias("REASONDESCRIPTION"),
            *_common(pl.col("encounter_id")),
        ),
        "conditions": _conditions(with_person(events["conditions"])),
        "observations": _observations(with_person(events["observations"])),
    }
    meds = with_person(events["medications"]).with_columns(
        pool(pools.payers, events["medications"].height).alias("PAYER")
    )
    out["medications"] = meds.select(
        ts_text(pl.col("start_s")).alias("START"),
        ts_text(pl.col("stop_s")).alias("STOP"),
        "PATIENT",
        "PAYER",
        pl.col("encounter_id").alias("ENCOUNTER"),
        pl.col("code").alias("CODE"),
        pl.col("description").alias("DESCRIPTION"),
        pl.col("base_cost").cast(pl.String).alias("BASE_COST"),
        (pl.col("base_cost") * 0.5).round(2).cast(pl.String).alias("PAYER_COVERAGE"),
        pl.col("dispenses").cast(pl.String).alias("DISPENSES"),
        (pl.col("base_cost") * pl.col("dispenses")).round(2).cast(pl.String).alias("TOTALCOST"),
        pl.lit(None, dtype=pl.String).alias("REASONCODE"),
        pl.lit(None, dtype=pl.String).alias("REASONDESCRIPTION"),
        *_common(pl.concat_str("PATIENT", "encounter_id", "code", ts_text(pl.col("start_s")), separator="|")),
    )
    procs = with_person(events["procedures"])
    out["procedures"] = procs.select(
        ts_text(pl.col("start_s")).alias("START"),
        ts_text(pl.col("stop_s")).alias("STOP"),
        "PATIENT",
        pl.col("encounter_id").alias("ENCOUNTER"),
        pl.when(pl.col("variant") % 10 < 7)
        .then(pl.lit("SNOMED-CT"))
        .otherwise(pl.lit("http://snomed.info/sct"))
        .alias("SYSTEM"),
        pl.col("code").alias("CODE"),
        pl.col("description").alias("DESCRIPTION"),
        pl.col("base_cost").cast(pl.String).alias("BASE_COST"),
        pl.lit(None, dtype=pl.String).alias("REASONCODE"),
        pl.lit(None, dtype=pl.String).alias("REASONDESCRIPTION"),
        *_common(
            pl.concat_str(
                "PATIENT", "encounter_id", pl.lit("SNOMED"), "code", ts_text(pl.col("start_s")), separator="|"
            )
        ),
    )
    # Natural keys must be unique within the generated data (a repeat would be "superseded", not planned).
    return {name: df.unique("_key", keep="first", maintain_order=True) for name, df in out.items()}


def _common(key: pl.Expr) -> list[pl.Expr]:
    return [
        pl.col("pid").alias("_pid"),
        pl.col("cramp").alias("_cramp"),
        (pl.col("start_s") // DAY).alias("_day"),
        pl.col("start_s").alias("_t"),
        key.alias("_key"),
        "_birth_day",
        "_death_day",
    ]


def _conditions(df: pl.DataFrame) -> pl.DataFrame:
    icd = pl.col("code_system") == "ICD10CM"
    ts_style = pl.col("variant") % 20 == 3  # other exporters write condition timestamps
    time_of_day = pl.col("start_s") % DAY
    stop_s = pl.col("stop_day") * DAY + time_of_day
    code_norm = (
        pl.when(icd)
        .then(pl.col("code").str.replace(".", "", literal=True).str.to_uppercase())
        .otherwise(pl.col("code").str.to_uppercase())
    )
    system_text = pl.lit(None, dtype=pl.String)
    for system, labels in SYSTEM_TEXT.items():
        system_text = (
            pl.when(pl.col("code_system") == system)
            .then(pl.col("variant").mod(10).replace_strict(dict(enumerate(labels)), return_dtype=pl.String))
            .otherwise(system_text)
        )
    code_text = pl.when(icd & ((pl.col("variant") // 10) % 10 >= 6)).then(code_norm).otherwise(pl.col("code"))
    # white space around a code, as some extracts deliver it (a tab after it, a no-break space before it)
    code_text = (
        pl.when((pl.col("variant") // 100) % 10 == 0)
        .then(code_text + "\t")
        .when((pl.col("variant") // 100) % 10 == 1)
        .then("\u00a0" + code_text)
        .otherwise(code_text)
    )
    return df.select(
        pl.when(ts_style)
        .then(ts_text(pl.col("start_day") * DAY + time_of_day))
        .otherwise(date_text(pl.col("start_day")))
        .alias("START"),
        pl.when(ts_style).then(ts_text(stop_s)).otherwise(date_text(pl.col("stop_day"))).alias("STOP"),
        "PATIENT",
        pl.col("encounter_id").alias("ENCOUNTER"),
        system_text.alias("SYSTEM"),
        code_text.alias("CODE"),
        pl.col("description").alias("DESCRIPTION"),
        pl.col("pid").alias("_pid"),
        pl.col("cramp").alias("_cramp"),
        pl.col("start_day").alias("_day"),
        pl.col("start_s").alias("_t"),
        pl.concat_str(
            "PATIENT", "encounter_id", "code_system", code_norm, pl.col("start_day").cast(pl.String), separator="|"
        ).alias("_key"),
        "_birth_day",
        "_death_day",
        pl.col("stop_day").alias("_stop_day"),
        pl.col("code_system").alias("_code_system"),
        pl.col("code").alias("_code"),
    )


def _observations(df: pl.DataFrame) -> pl.DataFrame:
    date = ts_text(pl.col("start_s"))
    return df.select(
        date.alias("DATE"),
        "PATIENT",
        pl.col("encounter_id").alias("ENCOUNTER"),
        pl.col("category").alias("CATEGORY"),
        pl.col("code").alias("CODE"),
        pl.col("description").alias("DESCRIPTION"),
        pl.col("value").alias("VALUE"),
        pl.col("units").replace("", None).alias("UNITS"),
        pl.col("value_type").alias("TYPE"),
        *_common(pl.concat_str("PATIENT", pl.col("encounter_id").fill_null(""), "code", date, separator="|")),
        pl.col("measure").alias("_measure"),
        pl.col("trap").alias("_trap"),
    )
