"""The planted clinical scenarios as data: cramp patterns, age groups and, per flag family, its variants.

A variant is a handful of rows (a diagnosis or a lab) placed at day offsets from one cramp event C of the
patient. Names say what the variant tests; whether a flag ends up true is *not* written here: the truth is
computed from the planted rows by the spec's rules (`truth.py`), so a surprising interaction between
variants (e.g. a late dx landing in the window of a later cramp) is still scored correctly.
Codes are named by pick list (`codes/child_codes.csv`) or lab measure (value set), never written here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    kind: str  # "dx" (condition), "lab" (numeric observation) or "text" (text observation)
    name: str  # pick list for dx, lab measure (value set) for lab/text
    offset: int  # days from the focus cramp event C
    stop: int | None = None  # dx STOP offset (None = ongoing)
    value: str = ""
    units: str = ""
    index: int = 0  # which code of the pick list / value set
    trap: str = ""  # "unknown_unit" / "implausible_value": stays in staging, excluded from flags
    system: str = ""  # dx only: a code system other than the pick's (ICD10 = WHO ICD-10, written "ICD-10")
    hour: float | None = None  # lab/text only: time of day (UTC hours) instead of a random one


@dataclass(frozen=True)
class Variant:
    name: str
    rows: tuple[Row, ...]
    sexes: tuple[str, ...] = ("F", "M")
    ages: tuple[str, ...] = ("child", "teen17", "adult", "elderly", "turns65", "birthday65")
    weight: float = 1.0  # relative chance among the variants a patient is eligible for
    gender: str = ""  # GENDER as written for the patient (e.g. "Male"); "" = the generator's own choice


def dx(name: str, offset: int, stop: int | None = None, index: int = 0, system: str = "") -> Row:
    return Row("dx", name, offset, stop, index=index, system=system)


def lab(
    measure: str, offset: int, value: str, units: str, index: int = 0, trap: str = "", hour: float | None = None
) -> Row:
    return Row("lab", measure, offset, value=value, units=units, index=index, trap=trap, hour=hour)


def text(measure: str, offset: int, value: str, index: int = 0) -> Row:
    return Row("text", measure, offset, value=value, index=index)


def v(
    name: str,
    *rows: Row,
    sexes: tuple[str, ...] = ("F", "M"),
    ages: tuple[str, ...] | None = None,
    weight: float = 1.0,
    gender: str = "",
) -> Variant:
    return Variant(name, rows, sexes, ages or Variant.__dataclass_fields__["ages"].default, weight, gender)


CHILD = ("child", "teen17")
ADULT = ("adult", "elderly", "turns65", "birthday65")
FERTILE = ("teen17", "adult")

# Cramp patterns: day offsets of the cramp events from the index event (same-day repeats = 1 distinct day).
CRAMP_PATTERNS: dict[str, tuple[tuple[int, ...], float]] = {
    "single": ((0,), 0.30),
    "two": ((0, 150), 0.12),
    "same_day_pair": ((0, 0), 0.06),
    "frequent3": ((0, 100, 200), 0.14),
    "frequent_edge365": ((0, 180, 365), 0.07),
    "spread366": ((0, 180, 366), 0.07),
    "spread": ((0, 300, 600), 0.07),
    "frequent_late3of4": ((0, 400, 500, 600), 0.07),
    "two_days_three_events": ((0, 0, 30), 0.05),
    "frequent_same_day": ((0, 0, 90, 180), 0.05),
}

# Age groups at the index cramp: (weight, years low, years high); turns65/birthday65 are placed exactly.
AGE_GROUPS: dict[str, tuple[float, float, float]] = {
    "child": (0.10, 5.0, 16.9),
    "teen17": (0.04, 17.02, 17.9),
    "adult": (0.50, 18.5, 64.0),
    "elderly": (0.26, 65.1, 95.0),
    "turns65": (0.05, 0, 0),  # 64 at index, 65 at a later cramp
    "birthday65": (0.05, 0, 0),  # 65th birthday on the index cramp
}

# family -> (share of cramp patients, variants)
FAMILIES: dict[str, tuple[float, tuple[Variant, ...]]] = {
    "hypocalcemia": (
        0.30,
        (
            v("hypoca_dx", dx("hypocalcemia", -10)),
            v("hypoca_dx_old", dx("hypocalcemia", -120, stop=-100)),
            v("hypoca_dx_late", dx("hypocalcemia", 31)),
            v("ca_low_edge_before", lab("calcium_total", -90, "7.6", "mg/dL")),
            v("ca_low_mmol_edge_after", lab("calcium_total", 30, "1.9", "mmol/L")),
            v("ca_low_mmol_unit_case", lab("calcium_total", 1, "1.8", " MMOL/L ")),
            v("ca_normal_mmol", lab("calcium_total", -5, "2.3", "mmol/L")),
            v("ca_low_outside", lab("calcium_total", -91, "7.5", "mg/dL"), lab("calcium_total", 31, "7.4", "mg/dl")),
            v("pseudohypoca", lab("calcium_total", -3, "7.9", "mg/dL"), lab("albumin", -1, "2.5", "g/dL")),
            v("pseudohypoca_g_l", lab("calcium_total", -3, "7.9", "mg/dL"), lab("albumin", 2, "25", "g/L")),
            v("ca_low_albumin_8d_away", lab("calcium_total", 0, "7.9", "mg/dL"), lab("albumin", -8, "2.5", "g/dL")),
            v("ca_low_albumin_normal", lab("calcium_total", 0, "7.6", "mg/dL"), lab("albumin", 0, "4.0", "g/dL")),
            v(
                "ionized_low_decides",
                lab("calcium_total", -2, "9.4", "mg/dL"),
                lab("calcium_ionized", -2, "1.0", "mmol/L"),
            ),
            v(
                "ionized_normal_decides",
                lab("calcium_total", -2, "7.4", "mg/dL"),
                lab("calcium_ionized", -2, "1.2", "mmol/L"),
            ),
            v("ionized_mg_dl_low", lab("calcium_ionized", 5, "4.0", "mg/dL", index=1)),
            v("ca_unknown_unit", lab("calcium_total", -1, "7.0", "mg%", trap="unknown_unit")),
            v("ca_implausible", lab("calcium_total", -1, "45", "mg/dL", trap="implausible_value")),
            v("ca_low_unit_tab", lab("calcium_total", -2, "7.5", "mg/dL\t")),
            v("ca_low_moles_loinc", lab("calcium_total", -4, "1.9", "mmol/L", index=2)),
            v("ionized_serum_loinc_low", lab("calcium_ionized", -3, "1.0", "mmol/L", index=2)),
            v(
                "albumin_bcg_corrects",
                lab("calcium_total", -3, "7.9", "mg/dL", hour=8),
                lab("albumin", -3, "2.5", "g/dL", index=1, hour=9),
            ),
            v(
                "albumin_bcp_g_l_corrects",
                lab("calcium_total", -3, "7.9", "mg/dL", hour=8),
                lab("albumin", -3, "25", "g/L", index=2, hour=10),
            ),
            # albumin pairing by time of day: 2.0 one hour away wins over 4.0 fourteen hours away (corrected 9.5)
            v(
                "albumin_closest_by_hours",
                lab("calcium_total", -2, "7.9", "mg/dL", hour=8),
                lab("albumin", -2, "2.0", "g/dL", hour=9),
                lab("albumin", -2, "4.0", "g/dL", hour=22),
            ),
            # 48 hours either side: the earlier albumin (2.0) wins, corrected 9.6
            v(
                "albumin_tie_earlier_wins",
                lab("calcium_total", -2, "8.0", "mg/dL", hour=8),
                lab("albumin", -4, "2.0", "g/dL", hour=8),
                lab("albumin", 0, "4.0", "g/dL", hour=8),
            ),
            v(
                "albumin_7d_2h_not_paired",
                lab("calcium_total", -8, "7.9", "mg/dL", hour=8),
                lab("albumin", -1, "2.0", "g/dL", hour=10),
            ),
            v(
                "albumin_exactly_7d_paired",
                lab("calcium_total", -8, "7.9", "mg/dL", hour=8),
                lab("albumin", -1, "2.0", "g/dL", hour=8),
            ),
            v("ionized_censored_low", lab("calcium_ionized", -2, "<1.0", "mmol/L")),
            v("ionized_censored_at_threshold", lab("calcium_ionized", -2, "<1.12", "mmol/L")),
            v("ca_censored_excluded", lab("calcium_total", -2, "<7.0", "mg/dL")),
            v("ca_not_a_number", lab("calcium_total", -2, "NaN", "mg/dL"), lab("calcium_total", -1, "-inf", "mg/dL")),
            v(
                "albumin_censored_not_used",
                lab("calcium_total", -2, "8.0", "mg/dL", hour=8),
                lab("albumin", -2, "<2.0", "g/dL", hour=9),
            ),
            v("hypopara", dx("hypoparathyroidism", -2000)),
            v("hypopara_resolved", dx("hypoparathyroidism", -2000, stop=-30, index=1)),
            v("hypopara_autosomal_dominant", dx("hypoparathyroidism", -500, index=2)),
        ),
    ),
    "neuropathy": (
        0.25,
        (
            v("neuro_dx", dx("neuropathy", -400)),
            v("neuro_resolved", dx("neuropathy", -400, stop=-1)),
            v("neuro_late", dx("neuropathy", 31)),
            v("neuro_edge_late", dx("neuropathy", 30, index=1)),
            v("dm_neuro_icd", dx("diabetic_neuropathy", -300)),
            v("dm_neuro_snomed", dx("diabetic_neuropathy", -300, index=1)),
            v("dm_plus_neuro", dx("diabetes", -2000, index=1), dx("neuropathy", -100)),
            v("dm_only", dx("diabetes", -1000)),
            v("dm_resolved_plus_neuro", dx("diabetes", -1000, stop=-10), dx("neuropathy", -100)),
            v("hcv_plus_neuro", dx("hepatitis_c", -3000), dx("neuropathy", -50)),
            v("hcv_resolved_plus_neuro", dx("hepatitis_c", -3000, stop=-2000), dx("neuropathy", -50)),
            v("hcv_only", dx("hepatitis_c", -500)),
            v("dm_autonomic_only", dx("diabetes", -300, index=2)),
            v("dm_polyneuropathy", dx("diabetic_neuropathy", -300, index=2)),
            v("tarsal_tunnel", dx("neuropathy", -200, index=2)),
        ),
    ),
    "pad": (
        0.25,
        (
            v("pad_dx", dx("pad", -200)),
            v("pad_dx_resolved", dx("pad", -400, stop=-30)),
            v("pad_dx_with_abi", dx("pad", -200), lab("abi", -100, "1.05", "")),
            v("abi_low_edge730", lab("abi", -730, "0.85", "")),
            v("abi_low_outside731", lab("abi", -731, "0.85", "ratio")),
            v("abi_at_threshold", lab("abi", -10, "0.90", "{ratio}")),
            v("abi_normal", lab("abi", -10, "0.95", "1")),
            v("abi_implausible", lab("abi", -10, "0.05", "", trap="implausible_value")),
            v("claudication", dx("claudication", -100)),
            v("pad_diabetic_angiopathy", dx("pad", -200, index=1)),
            v("pad_diabetic_gangrene", dx("pad", -200, index=2)),
            v("pad_total_occlusion", dx("pad", -200, index=3)),
            v("claudication_bypass_graft", dx("claudication", -100, index=1)),
            v("neurogenic_claudication", dx("neurogenic_claudication", -300)),
            v("abi_censored_low", lab("abi", -10, "<0.8", "")),
        ),
    ),
    "pregnancy": (
        0.80,
        (
            v("preg_ongoing", dx("pregnancy", -60, stop=100), sexes=("F",), ages=FERTILE),
            v("preg_ended_stop", dx("pregnancy", -200, stop=-10), sexes=("F",), ages=FERTILE),
            v(
                "preg_outcome_before",
                dx("pregnancy", -200, index=1),
                dx("pregnancy_outcome", -5),
                sexes=("F",),
                ages=FERTILE,
            ),
            v(
                "preg_outcome_after",
                dx("pregnancy", -200, index=2),
                dx("pregnancy_outcome", 10, index=1),
                sexes=("F",),
                ages=FERTILE,
            ),
            v("preg_expired_280d", dx("pregnancy", -290), sexes=("F",), ages=FERTILE),
            v("preg_edge_280d", dx("pregnancy", -280), sexes=("F",), ages=FERTILE),
            v("preg_weeks_before", dx("pregnancy_weeks", -14, index=1), sexes=("F",), ages=FERTILE),
            v("preg_weeks_after", dx("pregnancy_weeks", 20, index=0), sexes=("F",), ages=FERTILE),
            v("preg_weeks_old", dx("pregnancy_weeks", -200, index=2), sexes=("F",), ages=FERTILE),
            v("preg_weeks_lt8", dx("pregnancy_weeks", 0, index=3), sexes=("F",), ages=FERTILE),
            v("hcg_positive_text", text("hcg_qualitative", -30, "Positive"), sexes=("F",), ages=FERTILE),
            v("hcg_detected_spaces", text("hcg_qualitative", -30, " DETECTED ", index=1), sexes=("F",), ages=FERTILE),
            v("hcg_negative", text("hcg_qualitative", -30, "Negative"), sexes=("F",), ages=FERTILE),
            v("hcg_after_cramp", text("hcg_qualitative", 10, "pos"), sexes=("F",), ages=FERTILE),
            v("hcg_quant_high", lab("hcg_quantitative", -20, "1500", "mIU/mL"), sexes=("F",), ages=FERTILE),
            v("hcg_quant_iu_l", lab("hcg_quantitative", -20, "30", "IU/L"), sexes=("F",), ages=FERTILE),
            v("hcg_quant_low", lab("hcg_quantitative", -20, "10", "mIU/mL"), sexes=("F",), ages=FERTILE),
            v("preg_code_male", dx("pregnancy", -60, stop=100), sexes=("M",), ages=ADULT, weight=0.08),
            v(
                "preg_code_male_spelled_out",
                dx("pregnancy", -60),
                sexes=("M",),
                ages=ADULT,
                weight=0.08,
                gender="Male",
            ),
            v("preg_code_male_tab", dx("pregnancy", -60), sexes=("M",), ages=ADULT, weight=0.08, gender="M\t"),
            v("preg_female_spelled_out", dx("pregnancy", -60), sexes=("F",), ages=FERTILE, gender="FEMALE"),
            v("preg_snomed_ended_stop", dx("pregnancy", -200, stop=-10, index=1), sexes=("F",), ages=FERTILE),
            v("preg_weeks_visit_stop", dx("pregnancy_weeks", -31, stop=-31, index=1), sexes=("F",), ages=FERTILE),
            v("preg_post_term_on_cramp", dx("pregnancy_weeks", 0, index=4), sexes=("F",), ages=FERTILE),
            v(
                "preg_code_beside_delivery",
                dx("pregnancy", -300),
                dx("pregnancy_outcome", -60),
                dx("pregnancy_late", -60),
                sexes=("F",),
                ages=FERTILE,
            ),
            v(
                "preg_puerperium_after_delivery",
                dx("pregnancy_outcome", -60),
                dx("puerperium", -30),
                sexes=("F",),
                ages=FERTILE,
            ),
            v("preg_puerperium_alone", dx("puerperium", -15, index=1), sexes=("F",), ages=FERTILE),
            v(
                "preg_elective_termination",
                dx("pregnancy", -90),
                dx("pregnancy_outcome", -30, index=2),
                sexes=("F",),
                ages=FERTILE,
            ),
            v(
                "preg_postpartum_follow_up",
                dx("pregnancy", -240),
                dx("pregnancy_outcome", -10, index=3),
                sexes=("F",),
                ages=FERTILE,
            ),
            v(
                "preg_care_after_delivery",
                dx("pregnancy", -100),
                dx("pregnancy_outcome", -20, index=4),
                sexes=("F",),
                ages=FERTILE,
            ),
            v(
                "preg_labor_complication",
                dx("pregnancy", -100),
                dx("labor_complication", -20),
                sexes=("F",),
                ages=FERTILE,
            ),
            v("preg_labor_complication_alone", dx("labor_complication", -5, index=1), sexes=("F",), ages=FERTILE),
            v("preg_positive_test_z32", dx("pregnancy", -12, index=3), sexes=("F",), ages=FERTILE),
            v("preg_gestational_carrier", dx("pregnancy", -12, index=4), sexes=("F",), ages=FERTILE),
            v("preg_antenatal_screening", dx("pregnancy", -12, index=5), sexes=("F",), ages=FERTILE),
            v(
                "preg_merged_snomed_and_hcg",
                dx("pregnancy", -150, stop=-90, index=1),
                text("hcg_qualitative", -100, "Positive"),
                sexes=("F",),
                ages=FERTILE,
            ),
            v("hcg_censored_over_1000", lab("hcg_quantitative", -20, ">1000", "mIU/mL"), sexes=("F",), ages=FERTILE),
            v("hcg_thousands_separator", lab("hcg_quantitative", -20, "1,250", "mIU/mL"), sexes=("F",), ages=FERTILE),
            v("hcg_ucum_milli_unit", lab("hcg_quantitative", -20, "300", "m[IU]/mL"), sexes=("F",), ages=FERTILE),
            v("hcg_ucum_per_litre", lab("hcg_quantitative", -20, "40", "[IU]/L"), sexes=("F",), ages=FERTILE),
            v("hcg_unit_tab", lab("hcg_quantitative", -20, "60", "mIU/mL\t"), sexes=("F",), ages=FERTILE),
            v("hcg_loinc_19080_1", lab("hcg_quantitative", -20, "100", "mIU/mL", index=1), sexes=("F",), ages=FERTILE),
            v(
                "hcg_censored_not_decisive",
                lab("hcg_quantitative", -20, ">10", "mIU/mL"),
                lab("hcg_quantitative", -19, "<5", "mIU/mL"),
                sexes=("F",),
                ages=FERTILE,
            ),
            v(
                "hcg_not_a_number",
                lab("hcg_quantitative", -20, "NaN", "mIU/mL"),
                lab("hcg_quantitative", -19, "inf", "mIU/mL"),
                lab("hcg_quantitative", -18, "1e400", "mIU/mL"),
                sexes=("F",),
                ages=FERTILE,
            ),
            v(
                "hcg_30d_after_delivery",
                dx("pregnancy_outcome", -40),
                text("hcg_qualitative", -10, "Positive"),
                sexes=("F",),
                ages=FERTILE,
            ),
            v(
                "hcg_61d_after_delivery",
                dx("pregnancy_outcome", -91),
                text("hcg_qualitative", -30, "Positive"),
                sexes=("F",),
                ages=FERTILE,
            ),
            v(
                "hcg_on_delivery_day",
                dx("pregnancy_outcome", -10),
                text("hcg_qualitative", -10, "Positive"),
                sexes=("F",),
                ages=FERTILE,
            ),
        ),
    ),
    "hypomagnesemia": (
        0.25,
        (
            v("hypomg_dx", dx("hypomagnesemia", 5)),
            v("hypomg_dx_old", dx("hypomagnesemia", -200, stop=-150)),
            v("mg_low_mg_dl", lab("magnesium", -20, "1.5", "mg/dL")),
            v("mg_low_mmol", lab("magnesium", -20, "0.6", "mmol/L", index=1)),
            v("mg_normal_mmol", lab("magnesium", -20, "0.8", "mmol/L", index=1)),
            v("mg_low_meq", lab("magnesium", 10, "1.2", "mEq/L")),
            v("mg_low_late", lab("magnesium", 31, "1.5", "mg/dL")),
            v("mg_at_threshold", lab("magnesium", 0, "1.7", "mg/dL")),
            v("mg_implausible", lab("magnesium", 0, "12", "mg/dL", trap="implausible_value")),
            v("hypomg_magnesium_deficiency", dx("hypomagnesemia", -5, index=1)),
            v("mg_censored_low", lab("magnesium", -10, "<=1.5", "mg/dL")),
            v("mg_decimal_comma", lab("magnesium", -10, "1,5", "mg/dL")),
        ),
    ),
    "dehydration_heat": (
        0.20,
        (
            v("dehydration", dx("dehydration_heat", -5)),
            v("dehydration_old", dx("dehydration_heat", -100, stop=-95)),
            v("hyperhidrosis_edge", dx("dehydration_heat", 30, index=1)),
            v("heat_syncope_late", dx("dehydration_heat", 31, index=2)),
            v("dehydration_active", dx("dehydration_heat", -200)),
            v("heat_cramp_sequela", dx("heat_cramp_followup", -10)),
            v("heat_cramp_subsequent", dx("heat_cramp_followup", 20, index=1)),
        ),
    ),
    "structural_foot": (
        0.20,
        (
            v("flat_foot", dx("structural_foot", -500)),
            v("hallux_valgus", dx("structural_foot", -50, index=1)),
            v("congenital_pes_planus", dx("structural_foot", -1000, index=2)),
            v("flat_foot_resolved", dx("structural_foot", -500, stop=-1)),
            v("flat_foot_stop_on_cramp", dx("structural_foot", -500, stop=0)),
            v("flat_foot_late", dx("structural_foot", 31)),
        ),
    ),
    "venous_stasis_edema": (
        0.15,
        (
            v("venous_insufficiency", dx("venous_stasis_edema", -300)),
            v("edema", dx("venous_stasis_edema", -10, index=1)),
            v("edema_resolved", dx("venous_stasis_edema", -100, stop=-10, index=1)),
            v("postthrombotic", dx("venous_stasis_edema", -300, index=2)),
        ),
    ),
    "juvenile_arthritis": (
        0.12,
        (
            v("jia", dx("juvenile_arthritis", -700)),
            v("jia_with_iga", dx("juvenile_arthritis", -700), dx("iga_deficiency", -1000)),
            v("iga_only", dx("iga_deficiency", -1000)),
            v("jia_resolved", dx("juvenile_arthritis", -700, stop=-100)),
        ),
    ),
    "deletion_22q11": (
        0.5,
        (
            v("del22q11_child_no_ca", dx("deletion_22q11", -365), ages=CHILD),
            v(
                "del22q11_child_with_ca",
                dx("deletion_22q11", -365, index=1),
                lab("calcium_total", -100, "9.2", "mg/dL"),
                ages=CHILD,
            ),
            v("del22q11_adult", dx("deletion_22q11", -365), ages=ADULT, weight=0.1),
        ),
    ),
    "sever_disease": (
        0.5,
        (
            v("sever_child", dx("sever_disease", -60), ages=CHILD),
            v("sever_child_resolved", dx("sever_disease", -200, stop=-30), ages=CHILD),
            v("sever_adult", dx("sever_disease", -60), ages=ADULT, weight=0.1),
        ),
    ),
    "mimics": (
        0.20,
        (
            v("restless_legs", dx("restless_legs", -300)),
            v("restless_legs_resolved", dx("restless_legs", -300, stop=-20)),
            v("contracture", dx("muscle_contracture", -100)),
            v("hypothyroid", dx("thyroid_disease", -1000)),
            v("myopathy", dx("metabolic_myopathy", -200)),
            v("cpt2_deficiency", dx("metabolic_myopathy", -200, index=1)),
            v("plmd", dx("restless_legs", -300, index=1)),
            v("postprocedural_hypothyroid", dx("thyroid_disease", -1000, index=1)),
        ),
    ),
    # rows under the WHO ICD-10 label: never a match, whatever the code
    "coding": (
        0.20,
        (
            v("who_icd10_extra_cramp", dx("cramp", 50, system="ICD10")),
            v("who_icd10_neuropathy", dx("neuropathy", -400, system="ICD10")),
            v("who_icd10_pad", dx("pad", -100, system="ICD10")),
        ),
    ),
}
