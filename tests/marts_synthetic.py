"""A synthetic warehouse for the marts tests: the cohort/dq tables of docs/outputs.md filled from seeded random rows.

Prevalences are chosen so that some cells are large, some are 1..10 (suppressed) and some are 0. The rows obey the
phenotype's rules that the disclosure audit relies on: the neuropathy details are neuropathies, and a care gap is
only open for a patient its indication applies to.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl

from pipelines.contract.flags import OTHER_FLAGS, PRIMARY_FLAGS, SECONDARY_FLAGS
from pipelines.reference.seeds import load_seeds

PRIMARY, SECONDARY = PRIMARY_FLAGS, SECONDARY_FLAGS
# Per-flag probability: common, rare (small cells) and never (zero cells).
RATES = {
    "hypocalcemia": 0.30,
    "neuropathy": 0.25,
    "pad": 0.20,
    "pregnancy": 0.04,
    "hypomagnesemia": 0.12,
    "dehydration_heat": 0.15,
    "structural_foot": 0.10,
    "venous_stasis_edema": 0.08,
    "juvenile_arthritis": 0.01,
    "pediatric_22q11": 0.005,
    "sever_disease": 0.0,
    "frequent_cramps": 0.35,
    "nocturnal_cramps": 0.2,
    "diabetic_neuropathy": 0.1,
    "hcv_neuropathy": 0.01,
    "mimic_rls": 0.05,
    "mimic_claudication": 0.03,
    "mimic_contracture": 0.02,
}
GAPS = ("calcium_not_checked", "vascular_assessment_missing", "magnesium_not_checked")
# Who a gap can be open for, and how often it is open then.
GAP_INDICATED = {
    "calcium_not_checked": (lambda f: f["frequent_cramps"] or f["pediatric_22q11"], 0.8),
    "vascular_assessment_missing": (lambda f: f["pad"] or f["mimic_claudication"], 0.9),
    "magnesium_not_checked": (lambda f: f["frequent_cramps"] and f["hypocalcemia"], 0.2),
}
VERSION = "cramp-risk-1+test"
PREVIOUS_VERSION = "cramp-risk-0+test"
# Per flag, the share of cohort patients who entered / left it with the version change: large, small, none.
DIFF_RATES = {"hypocalcemia": (0.05, 0.04), "pad": (0.006, 0.0), "mimic_rls": (0.04, 0.002), "in_cohort": (0.03, 0.0)}
# Matched rows per value-set entry: most entries none, some a few (suppressed), some many.
MATCH_SIZES = (0, 0, 0, 2, 5, 9, 14, 40, 120)


def build_warehouse(db_path: Path, patients: int = 500, seed: int = 7, cohort_share: float = 0.7) -> dict:
    """Writes raw/staging/cohort/dq tables into `db_path`; returns the identifiers and frames used."""
    rng = random.Random(seed)
    people = [_person(rng) for _ in range(patients)]
    cohort = [p for p in people if rng.random() < cohort_share]
    flags = pl.DataFrame([_flags(rng, p) for p in cohort])
    gaps = pl.DataFrame(
        [
            {"patient_id": row["patient_id"], "gap": gap, "reason": "no lab in window"}
            for row in flags.iter_rows(named=True)
            for gap, (indicated, rate) in GAP_INDICATED.items()
            if indicated(row) and rng.random() < rate
        ],
        schema={"patient_id": pl.Utf8, "gap": pl.Utf8, "reason": pl.Utf8},
    )
    raw = pl.DataFrame(people)
    with duckdb.connect(str(db_path)) as con:
        for schema in ("raw", "staging", "intermediate", "cohort", "dq", "ref"):
            con.execute(f"create schema if not exists {schema}")
        con.register("raw_df", raw)
        con.execute("create or replace table raw.patients as select * from raw_df")
        con.execute(
            "create or replace table staging.patients as select Id as patient_id, "
            "cast(BIRTHDATE as date) as birth_date, GENDER as sex from raw.patients"
        )
        write_cohort(con, flags, gaps)
        _write_dq(con, rng)
        diff = _write_version_diff(con, rng, flags)
        matches = _write_value_set_matches(con, rng, [p["Id"] for p in people])
    return {"raw": raw, "flags": flags, "gaps": gaps, "version_diff": diff, "value_set_matches": matches}


def write_cohort(con: duckdb.DuckDBPyConnection, flags: pl.DataFrame, gaps: pl.DataFrame) -> None:
    """cohort.patient_flags, care_gaps and attrition (derived the way docs/phenotype.md orders the steps)."""
    con.register("flags_df", flags)
    con.register("gaps_df", gaps)
    con.execute("create or replace table cohort.patient_flags as select * from flags_df")
    con.execute("create or replace table cohort.care_gaps as select * from gaps_df")
    staged = con.execute("select count(*) from staging.patients").fetchone()[0]
    steps = [("patients_in_staging", staged), ("with_cramp_event", flags.height)]
    steps.append(("with_any_primary_risk", int(flags["any_primary_risk"].sum()) if flags.height else 0))
    steps += [(f"primary_{f}", int(flags[f].sum()) if flags.height else 0) for f in PRIMARY]
    con.execute("create or replace table cohort.attrition (step varchar, patients bigint)")
    con.executemany("insert into cohort.attrition values (?, ?)", steps)
    con.execute("create or replace table ref.phenotype_version as select ? as phenotype_version", [VERSION])


def _person(rng: random.Random) -> dict:
    birth = date(1930, 1, 1) + timedelta(days=rng.randrange(0, 365 * 90))
    patient_id = str(uuid.UUID(int=rng.getrandbits(128)))
    return {
        "Id": patient_id,
        "BIRTHDATE": birth.isoformat(),
        "SSN": f"999-{rng.randrange(10, 99)}-{rng.randrange(1000, 9999)}",
        "FIRST": f"Given{rng.randrange(100, 999)}",
        "LAST": f"Family{rng.randrange(100, 999)}",
        "ADDRESS": f"{int(patient_id[:3], 16)} Elm Street Unit {int(patient_id[3:5], 16)}",
        "GENDER": rng.choice(("M", "F", "F", "M", "F", "U" if rng.random() < 0.05 else "M")),
    }


def _flags(rng: random.Random, person: dict) -> dict:
    # Index dates skew late so that early months have few patients (suppressed cells).
    index = date(2021, 1, 1) + timedelta(days=int(365 * 4 * rng.random() ** 0.6))
    birth = date.fromisoformat(person["BIRTHDATE"])
    age = (index - birth).days // 365
    row = {"patient_id": person["Id"], "index_date": index, "cramp_events": rng.randint(1, 6)}
    for flag in PRIMARY + SECONDARY + OTHER_FLAGS:
        row[flag] = rng.random() < RATES.get(flag, 0.0)
    row["elderly"] = age >= 65
    row["pregnancy"] = row["pregnancy"] and person["GENDER"] != "M"
    row["neuropathy"] = row["neuropathy"] or row["diabetic_neuropathy"] or row["hcv_neuropathy"]
    row.update(
        {
            "age_at_index": age,
            "sex": person["GENDER"],
            "any_primary_risk": any(row[f] for f in PRIMARY),
            "risk_factor_count": sum(row[f] for f in PRIMARY + SECONDARY),
            "phenotype_version": VERSION,
        }
    )
    return row


def _write_dq(con: duckdb.DuckDBPyConnection, rng: random.Random) -> None:
    rec = []
    # a third batch was rejected: its rows are held, none loaded
    for batch, rejected in (("2026-01-01", False), ("2026-02-01", False), ("2026-01-15", True)):
        for source_file in ("patients.csv", "conditions.csv", "observations.csv"):
            loaded, quarantined, superseded = rng.randint(200, 900), rng.randint(0, 4), rng.randint(0, 30)
            read = loaded + quarantined + superseded
            fates = (0, 0, 0, read) if rejected else (loaded, quarantined, superseded, 0)
            rec.append((batch, source_file, read, *fates))
    con.execute(
        "create or replace table dq.batch_reconciliation (batch_id varchar, source_file varchar, rows_read bigint, "
        "rows_loaded bigint, rows_quarantined bigint, rows_superseded bigint, rows_held bigint)"
    )
    con.executemany("insert into dq.batch_reconciliation values (?, ?, ?, ?, ?, ?, ?)", rec)
    checks = [
        ("run-a", batch, table, name, "conformance", severity, rng.choice(("pass", "pass", "fail")), 0, 100, 0.0)
        for batch in ("2026-01-01", "2026-02-01")
        for table in ("patients", "conditions")
        for name, severity in (("not_null_id", "error"), ("valid_dates", "warn"), ("units_known", "warn"))
    ]
    con.execute(
        "create or replace table dq.check_results (run_id varchar, batch_id varchar, table_name varchar, "
        "check_name varchar, kahn_category varchar, severity varchar, status varchar, failing_rows bigint, "
        "total_rows bigint, threshold double)"
    )
    con.executemany("insert into dq.check_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", checks)


def _write_version_diff(con: duckdb.DuckDBPyConnection, rng: random.Random, flags: pl.DataFrame) -> pl.DataFrame:
    """cohort.version_runs (a first run, then a version change) and cohort.version_diff of that change."""
    rows = []
    for patient in flags["patient_id"].to_list():
        for flag, (entered, left) in DIFF_RATES.items():
            draw = rng.random()
            if draw < entered or draw > 1 - left:
                now = draw < entered
                in_cohort = flag != "in_cohort" or not now
                rows.append((patient, flag, PREVIOUS_VERSION, VERSION, not now, now, in_cohort, True))
    diff = pl.DataFrame(
        rows,
        schema=[
            "patient_id",
            "flag",
            "previous_version",
            "current_version",
            "previous_value",
            "current_value",
            "previous_in_cohort",
            "current_in_cohort",
        ],
        orient="row",
    )
    con.register("diff_df", diff)
    con.execute(
        "create or replace table cohort.version_diff as select *, 'run-diff' as run_id, "
        "timestamp '2026-05-02 03:00:00' as diffed_at from diff_df"
    )
    con.execute(
        "create or replace table cohort.version_runs as select * from (values "
        "('run-first', 'b1', timestamp '2026-05-01 03:00:00', ?, null, false, 100, 0, 'sig', null), "
        "('run-diff', 'b1', timestamp '2026-05-02 03:00:00', ?, ?, true, 100, ?, 'sig', false)"
        ") as t(run_id, batch_id, recorded_at, phenotype_version, previous_version, version_changed, "
        "cohort_patients, diff_rows, input_signature, input_changed)",
        [PREVIOUS_VERSION, VERSION, PREVIOUS_VERSION, diff.height],
    )
    return diff


def _write_value_set_matches(con: duckdb.DuckDBPyConnection, rng: random.Random, patients: list[str]) -> pl.DataFrame:
    """ref.value_sets from the project's seed; intermediate.condition_matches and intermediate.lab_results with a random
    number of rows per entry (a prefix entry matched through a code below it)."""
    load_seeds(con)
    entries = con.execute("select value_set, code_system, code, match from ref.value_sets order by rowid").fetchall()
    rows = []
    for value_set, system, code, match in entries:
        key = code.replace(".", "").upper() if system == "ICD10CM" else code
        matched = key + "9" if match == "prefix" else key
        for _ in range(rng.choice(MATCH_SIZES)):
            # few patients per entry, so that patients and rows differ
            rows.append((rng.choice(patients[:60]), value_set, system, matched, system == "LOINC"))
    frame = pl.DataFrame(rows, schema=["patient_id", "value_set", "code_system", "code", "is_lab"], orient="row")
    con.register("matches_df", frame)
    con.execute(
        "create or replace table intermediate.condition_matches as "
        "select patient_id, value_set, code_system, code from matches_df where not is_lab"
    )
    con.execute(
        "create or replace table intermediate.lab_results as "
        "select patient_id, value_set as measure, code_system, code from matches_df where is_lab"
    )
    return frame
