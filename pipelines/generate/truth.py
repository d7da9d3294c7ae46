"""Ground truth: the phenotype's rules (`cramp-risk-2`, as docs/phenotype-decisions.md reads them) applied in
Polars to the rows planted on the cramp patients. Independent of the pipeline's SQL on purpose.

Cramp patients carry no value-set code other than the planted ones, so these rows are all the evidence there is.
Conditions arrive with their code system already known (SNOMED, ICD10CM, or ICD10 for rows written under the WHO
ICD-10 label, which match no value set); lab values and units as written (text).
"""

from __future__ import annotations

import polars as pl

from pipelines.contract.flags import FLAG_COLUMNS, PRIMARY_FLAGS, SECONDARY_FLAGS
from pipelines.generate.codebook import CodeBook

# Canonical-unit factors per lab measure (units matched lower-case after trimming) and plausible ranges.
UNIT_FACTORS: dict[str, dict[str, float]] = {
    "calcium_total": {"mg/dl": 1.0, "mmol/l": 4.008},
    "calcium_ionized": {"mmol/l": 1.0, "mg/dl": 1 / 4.008},
    "albumin": {"g/dl": 1.0, "g/l": 0.1},
    "magnesium": {"mg/dl": 1.0, "mmol/l": 2.431, "meq/l": 1.2155},
    "abi": {"": 1.0, "1": 1.0, "ratio": 1.0, "{ratio}": 1.0},
    "hcg_quantitative": {"miu/ml": 1.0, "iu/l": 1.0, "m[iu]/ml": 1.0, "[iu]/l": 1.0},
}
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "calcium_total": (2, 20),
    "calcium_ionized": (0.3, 3),
    "albumin": (0.5, 7),
    "magnesium": (0.2, 10),
    "abi": (0.1, 2.0),
}
HCG_POSITIVE_TEXT = ("positive", "pos", "detected", "reactive")
# The threshold a measure's own value is judged by: a censored value (<N, <=N, >N, >=N) counts only when every value
# it allows meets it (`<1.12` ionized calcium is low). Total calcium (judged after albumin correction) and albumin
# have none.
CENSORED_RULES: dict[str, tuple[str, float]] = {
    "calcium_ionized": ("<", 1.12),
    "magnesium": ("<", 1.7),
    "abi": ("<=", 0.90),
    "hcg_quantitative": (">=", 25.0),
}
COMPARATOR = r"^(>=|<=|≥|≤|>|<)"
ALBUMIN_PAIRING = pl.duration(days=7)
PREGNANCY_DAYS, DAYS_AFTER_EVIDENCE, HCG_AFTER_OUTCOME_DAYS = 280, 14, 60

PRIMARY, SECONDARY = PRIMARY_FLAGS, SECONDARY_FLAGS
CARE_GAPS = ("calcium_not_checked", "vascular_assessment_missing", "magnesium_not_checked")


def compute_truth(
    patients: pl.DataFrame, conditions: pl.DataFrame, observations: pl.DataFrame, codebook: CodeBook
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(patient_flags, care_gaps) for the cramp patients.

    patients: patient_id, sex, birth (Date), scenario. conditions: patient_id, code_system, code, start, stop (Date).
    observations: patient_id, code, day (Date), observed_at (Datetime), value, units.
    """
    dx = _with_value_sets(conditions, codebook)
    events = dx.filter(pl.col("value_set") == "cramp").select("patient_id", pl.col("start").alias("c")).unique()
    nocturnal = dx.filter(pl.col("value_set") == "nocturnal_cramp").select("patient_id").unique()
    per_event = events.join(patients.select("patient_id", "birth", "sex"), on="patient_id")
    per_event = per_event.with_columns(_age_years(pl.col("birth"), pl.col("c")).alias("age"))

    def dx_in(value_sets: tuple[str, ...], window: str) -> pl.Expr:
        hits = _dx_hits(per_event, dx, value_sets, window)
        return pl.struct("patient_id", "c").is_in(hits.to_series().implode())

    labs = _labs(observations, codebook)
    low_ca = _low_calcium_days(labs)
    low_mg = labs.filter((pl.col("measure") == "magnesium") & pl.col("meets"))
    low_abi = labs.filter((pl.col("measure") == "abi") & pl.col("meets"))

    def lab_in(days: pl.DataFrame, before: int) -> pl.Expr:
        hits = (
            per_event.join(days.select("patient_id", "day"), on="patient_id")
            .filter(
                pl.col("day").is_between(pl.col("c") - pl.duration(days=before), pl.col("c") + pl.duration(days=30))
            )
            .select(pl.struct("patient_id", "c"))
            .unique()
        )
        return pl.struct("patient_id", "c").is_in(hits.to_series().implode())

    covered = _pregnancy_covered(per_event, dx, labs)
    flags = per_event.with_columns(
        hypocalcemia=dx_in(("hypocalcemia",), "acute") | dx_in(("hypoparathyroidism",), "chronic") | lab_in(low_ca, 90),
        neuropathy=dx_in(("neuropathy", "diabetic_neuropathy"), "chronic"),
        pad=dx_in(("pad", "claudication"), "chronic") | lab_in(low_abi, 730),
        pregnancy=pl.struct("patient_id", "c").is_in(covered.to_series().implode())
        & (pl.col("sex").str.strip_chars().str.to_uppercase().fill_null("") != "M"),
        hypomagnesemia=dx_in(("hypomagnesemia",), "acute") | lab_in(low_mg, 90),
        dehydration_heat=dx_in(("dehydration_heat",), "acute"),
        structural_foot=dx_in(("structural_foot",), "chronic"),
        venous_stasis_edema=dx_in(("venous_stasis_edema",), "chronic"),
        juvenile_arthritis=dx_in(("juvenile_arthritis",), "chronic"),
        elderly=pl.col("age") >= 65,
        pediatric_22q11=(pl.col("age") < 18) & dx_in(("deletion_22q11",), "lifelong"),
        sever_disease=(pl.col("age") < 18) & dx_in(("sever_disease",), "chronic"),
        _diabetes=dx_in(("diabetes",), "chronic"),
        _dm_neuro=dx_in(("diabetic_neuropathy",), "chronic"),
        _hcv=dx_in(("hepatitis_c",), "lifelong"),
        mimic_rls=dx_in(("restless_legs",), "chronic"),
        mimic_claudication=dx_in(("claudication", "neurogenic_claudication"), "chronic"),
        mimic_contracture=dx_in(("metabolic_myopathy", "thyroid_disease", "muscle_contracture"), "chronic"),
    ).with_columns(
        diabetic_neuropathy=pl.col("_dm_neuro") | (pl.col("neuropathy") & pl.col("_diabetes")),
        hcv_neuropathy=pl.col("neuropathy") & pl.col("_hcv"),
    )
    per_patient = flags.group_by("patient_id").agg(
        pl.col("c").min().alias("index_date"),
        pl.col("c").max().alias("last_cramp"),
        pl.col("c").n_unique().alias("cramp_events"),
        pl.col("c").sort().alias("_days"),
        *[
            pl.col(f).any()
            for f in (
                *PRIMARY,
                *SECONDARY,
                "diabetic_neuropathy",
                "hcv_neuropathy",
                "mimic_rls",
                "mimic_claudication",
                "mimic_contracture",
            )
        ],
    )
    per_patient = per_patient.with_columns(
        frequent_cramps=pl.col("_days")
        .list.eval((pl.element().shift(-2) - pl.element()).dt.total_days() <= 365)
        .list.any()
        .fill_null(False),
        nocturnal_cramps=pl.col("patient_id").is_in(nocturnal["patient_id"].implode()),
    )
    out = (
        patients.join(per_patient, on="patient_id", how="inner")
        .with_columns(
            _age_years(pl.col("birth"), pl.col("index_date")).alias("age_at_index"),
            pl.any_horizontal(*PRIMARY).alias("any_primary_risk"),
            pl.sum_horizontal(*[pl.col(f).cast(pl.Int32) for f in (*PRIMARY, *SECONDARY)]).alias("risk_factor_count"),
        )
        .sort("patient_id")
    )
    gaps = _care_gaps(out, observations, codebook)
    flags_out = out.select(
        "patient_id",
        "scenario",
        "index_date",
        "cramp_events",
        "age_at_index",
        "sex",
        *FLAG_COLUMNS,
        "any_primary_risk",
        "risk_factor_count",
    )
    return flags_out, gaps


def _with_value_sets(conditions: pl.DataFrame, codebook: CodeBook) -> pl.DataFrame:
    codes = conditions.select("code_system", "code").unique().sort("code_system", "code")
    membership = (
        pl.DataFrame(
            {
                "code_system": codes["code_system"],
                "code": codes["code"],
                "value_set": [list(codebook.members(s, c)) for s, c in codes.iter_rows()],
            },
            schema={"code_system": pl.String, "code": pl.String, "value_set": pl.List(pl.String)},
        )
        .explode("value_set")
        .drop_nulls("value_set")
    )
    return conditions.join(membership, on=["code_system", "code"])


def _dx_hits(per_event: pl.DataFrame, dx: pl.DataFrame, value_sets: tuple[str, ...], window: str) -> pl.DataFrame:
    """(patient_id, c) pairs with a diagnosis of the value sets in the window (acute / chronic / lifelong)."""
    c, start, stop = pl.col("c"), pl.col("start"), pl.col("stop")
    not_over = stop.is_null() | (stop >= c)
    rule = {
        "acute": start.is_between(c - pl.duration(days=90), c + pl.duration(days=30)) | ((start <= c) & not_over),
        "chronic": (start <= c + pl.duration(days=30)) & not_over,
        "lifelong": start <= c + pl.duration(days=30),
    }[window]
    rows = dx.filter(pl.col("value_set").is_in(list(value_sets))).select("patient_id", "start", "stop")
    return (
        per_event.select("patient_id", "c")
        .join(rows, on="patient_id")
        .filter(rule)
        .select(pl.struct("patient_id", "c"))
        .unique()
    )


def _number(text: pl.Expr) -> pl.Expr:
    """A finite number written plainly or with thousands separators (1,250); NULL otherwise (NaN, inf, 1e400,
    a decimal comma)."""
    plain = text.cast(pl.Float64, strict=False)
    grouped = (
        pl.when(text.str.contains(r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$"))
        .then(text.str.replace_all(",", "", literal=True).cast(pl.Float64, strict=False))
        .otherwise(None)
    )
    number = pl.when(text.str.contains("_", literal=True)).then(None).otherwise(pl.coalesce(plain, grouped))
    return pl.when(number.is_finite()).then(number).otherwise(None)


def _labs(observations: pl.DataFrame, codebook: CodeBook) -> pl.DataFrame:
    """Usable lab values: measure, canonical value (known unit, plausible, not a censored value that decides
    nothing; a deciding censored value counts as its bound) or hCG text verdict."""
    code_to_measure = {
        pick.code: measure
        for measure in (
            "calcium_total",
            "calcium_ionized",
            "albumin",
            "magnesium",
            "abi",
            "hcg_qualitative",
            "hcg_quantitative",
        )
        for pick in codebook.set_codes(measure)
    }
    text = pl.col("value").str.strip_chars()
    obs = observations.with_columns(
        pl.col("code").replace_strict(code_to_measure, default=None).alias("measure"),
        pl.col("units").fill_null("").str.strip_chars().str.to_lowercase().alias("unit_key"),
        text.str.extract(COMPARATOR, 1).replace({"≥": ">=", "≤": "<="}).alias("comparator"),
        _number(text.str.replace(COMPARATOR, "").str.strip_chars()).alias("number"),
    ).filter(pl.col("measure").is_not_null())
    factor = pl.lit(None, dtype=pl.Float64)
    for measure, factors in UNIT_FACTORS.items():
        factor = (
            pl.when(pl.col("measure") == measure)
            .then(pl.col("unit_key").replace_strict(factors, default=None, return_dtype=pl.Float64))
            .otherwise(factor)
        )
    plausible = pl.lit(True)
    for measure, (lo, hi) in PLAUSIBLE.items():
        plausible = (
            pl.when(pl.col("measure") == measure).then(pl.col("canonical").is_between(lo, hi)).otherwise(plausible)
        )
    at_most = pl.col("comparator").is_in(["<", "<="])
    at_least = pl.col("comparator").is_in([">", ">="])
    decides = pl.lit(False)
    for measure, (rule, threshold) in CENSORED_RULES.items():
        meets = {
            "<": ((pl.col("comparator") == "<") & (pl.col("canonical") <= threshold))
            | ((pl.col("comparator") == "<=") & (pl.col("canonical") < threshold)),
            "<=": at_most & (pl.col("canonical") <= threshold),
            ">=": at_least & (pl.col("canonical") >= threshold),
        }[rule]
        decides = pl.when(pl.col("measure") == measure).then(meets).otherwise(decides)
    # `meets`: the measure's own threshold is met (a deciding censored value meets it by construction)
    meets = pl.lit(None, dtype=pl.Boolean)
    for measure, (rule, threshold) in CENSORED_RULES.items():
        by_value = {
            "<": pl.col("canonical") < threshold,
            "<=": pl.col("canonical") <= threshold,
            ">=": pl.col("canonical") >= threshold,
        }[rule]
        censored_or_met = pl.col("comparator").is_not_null() | by_value
        meets = pl.when(pl.col("measure") == measure).then(censored_or_met).otherwise(meets)
    numeric = (
        obs.with_columns(canonical=pl.col("number") * factor)
        .filter(pl.col("canonical").is_not_null() & plausible & (pl.col("comparator").is_null() | decides))
        .with_columns(meets=meets)
    )
    qualitative = obs.filter(
        (pl.col("measure") == "hcg_qualitative") & text.str.to_lowercase().is_in(list(HCG_POSITIVE_TEXT))
    ).with_columns(canonical=pl.lit(1.0), meets=pl.lit(True))
    columns = ("patient_id", "measure", "day", "observed_at", "canonical", "meets")
    return pl.concat([numeric.select(columns), qualitative.select(columns)])


def _low_calcium_days(labs: pl.DataFrame) -> pl.DataFrame:
    """Patient-days with a low calcium verdict: ionized decides; else the total calcium corrected with the albumin
    closest in time (timestamps) within 7 days of it, ties to the earlier albumin."""
    ionized = labs.filter(pl.col("measure") == "calcium_ionized")
    ion_days = ionized.group_by("patient_id", "day").agg(pl.col("meets").any().alias("low"))
    totals = labs.filter(pl.col("measure") == "calcium_total").with_row_index("_t")
    albumin = labs.filter(pl.col("measure") == "albumin").select(
        "patient_id",
        pl.col("observed_at").alias("a_at"),
        pl.col("canonical").alias("alb"),
    )
    nearest = (
        totals.join(albumin, on="patient_id")
        .with_columns(gap=(pl.col("a_at") - pl.col("observed_at")).abs())
        .filter(pl.col("gap") <= ALBUMIN_PAIRING)
        .sort("_t", "gap", "a_at")
        .unique("_t", keep="first")
        .select("_t", "alb")
    )
    corrected = totals.join(nearest, on="_t", how="left").with_columns(
        corrected=pl.when(pl.col("alb").is_null())
        .then(pl.col("canonical"))
        .otherwise(pl.col("canonical") + 0.8 * (4.0 - pl.col("alb")))
    )
    total_days = (
        corrected.join(ion_days.select("patient_id", "day"), on=["patient_id", "day"], how="anti")
        .group_by("patient_id", "day")
        .agg((pl.col("corrected") < 8.5).any().alias("low"))
    )
    return pl.concat([ion_days, total_days]).filter("low").select("patient_id", "day")


def _pregnancy_covered(per_event: pl.DataFrame, dx: pl.DataFrame, labs: pl.DataFrame) -> pl.DataFrame:
    """(patient_id, c) pairs where c lies in a pregnancy episode.

    Start evidence: a pregnancy dx (not on the day of an outcome), or a positive hCG not within 60 days after an
    outcome. Start: the evidence date, Z3A.nn nn weeks earlier. End: the earliest of the first outcome on or after
    the evidence date, the STOP of a SNOMED pregnancy state, and the later of start + 280 and evidence + 14 days.
    """
    outcomes = (
        dx.filter(pl.col("value_set") == "pregnancy_outcome").select("patient_id", pl.col("start").alias("o")).unique()
    )
    preg = dx.filter(pl.col("value_set") == "pregnancy").join(
        outcomes, left_on=["patient_id", "start"], right_on=["patient_id", "o"], how="anti"
    )
    code = pl.col("code").str.replace(".", "", literal=True).str.to_uppercase()
    weeks = (
        pl.when(code.str.starts_with("Z3A"))
        .then(code.str.slice(3, 2).cast(pl.Int64, strict=False).fill_null(0))
        .otherwise(0)
    )
    weeks = pl.when(weeks <= 1).then(0).when(weeks == 49).then(42).otherwise(weeks)
    from_dx = preg.select(
        "patient_id",
        (pl.col("start") - pl.duration(weeks=weeks)).alias("ep_start"),
        pl.col("start").alias("evidence"),
        pl.when(pl.col("code_system") == "SNOMED").then(pl.col("stop")).otherwise(None).alias("state_stop"),
    )
    hcg = labs.filter(
        (pl.col("measure") == "hcg_qualitative")
        | ((pl.col("measure") == "hcg_quantitative") & pl.col("meets"))
    )
    after_outcome = (
        hcg.join(outcomes, on="patient_id")
        .filter((pl.col("day") - pl.col("o")).dt.total_days().is_between(0, HCG_AFTER_OUTCOME_DAYS))
        .select("patient_id", "day")
        .unique()
    )
    from_hcg = hcg.join(after_outcome, on=["patient_id", "day"], how="anti").select(
        "patient_id",
        pl.col("day").alias("ep_start"),
        pl.col("day").alias("evidence"),
        pl.lit(None, dtype=pl.Date).alias("state_stop"),
    )
    episodes = pl.concat([from_dx, from_hcg]).with_row_index("_e")
    first_outcome = (
        episodes.join(outcomes, on="patient_id")
        .filter(pl.col("o") >= pl.col("evidence"))
        .group_by("_e")
        .agg(pl.col("o").min())
    )
    episodes = episodes.join(first_outcome, on="_e", how="left").with_columns(
        ep_end=pl.min_horizontal(
            "state_stop",
            "o",
            pl.max_horizontal(
                pl.col("ep_start") + pl.duration(days=PREGNANCY_DAYS),
                pl.col("evidence") + pl.duration(days=DAYS_AFTER_EVIDENCE),
            ),
        )
    )
    return (
        per_event.select("patient_id", "c")
        .join(episodes.select("patient_id", "ep_start", "ep_end"), on="patient_id")
        .filter((pl.col("ep_start") <= pl.col("c")) & (pl.col("c") <= pl.col("ep_end")))
        .select(pl.struct("patient_id", "c"))
        .unique()
    )


def _care_gaps(flags: pl.DataFrame, observations: pl.DataFrame, codebook: CodeBook) -> pl.DataFrame:
    """Open care gaps: a lab "was checked" when any observation of its codes lies in the interval."""

    def codes(*measures: str) -> list[str]:
        return [p.code for m in measures for p in codebook.set_codes(m)]

    def checked(measure_codes: list[str], before: int) -> pl.Expr:
        hits = (
            flags.select("patient_id", "index_date", "last_cramp")
            .join(observations.filter(pl.col("code").is_in(measure_codes)).select("patient_id", "day"), on="patient_id")
            .filter(
                pl.col("day").is_between(
                    pl.col("index_date") - pl.duration(days=before), pl.col("last_cramp") + pl.duration(days=30)
                )
            )
        )
        return pl.col("patient_id").is_in(hits["patient_id"].unique().implode())

    rules = {
        "calcium_not_checked": (pl.col("frequent_cramps") | pl.col("pediatric_22q11"))
        & ~checked(codes("calcium_total", "calcium_ionized"), 365),
        "vascular_assessment_missing": (pl.col("pad") | pl.col("mimic_claudication")) & ~checked(codes("abi"), 730),
        "magnesium_not_checked": pl.col("frequent_cramps") & pl.col("hypocalcemia") & ~checked(codes("magnesium"), 365),
    }
    parts = [flags.filter(rule).select("patient_id", pl.lit(gap).alias("gap")) for gap, rule in rules.items()]
    return pl.concat(parts).sort("patient_id", "gap")


def _age_years(birth: pl.Expr, on: pl.Expr) -> pl.Expr:
    """Whole years, birthday-aware."""
    before_birthday = (on.dt.month() < birth.dt.month()) | (
        (on.dt.month() == birth.dt.month()) & (on.dt.day() < birth.dt.day())
    )
    return (on.dt.year() - birth.dt.year() - before_birthday.cast(pl.Int32)).cast(pl.Int32)
