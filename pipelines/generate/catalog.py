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


@dataclass(frozen=True)
class Variant:
    name: str
    rows: tuple[Row, ...]
    sexes: tuple[str, ...] = ("F", "M")
    ages: tuple[str, ...] = ("child", "teen17", "adult", "elderly", "turns65", "birthday65")
    weight: float = 1.0  # relative chance among the variants a patient is eligible for


def dx(name: str, offset: int, stop: int | None = None, index: int = 0) -> Row:
    return Row("dx", name, offset, stop, index=index)


def lab(measure: str, offset: int, value: str, units: str, index: int = 0, trap: str = "") -> Row:
    return Row("lab", measure, offset, value=value, units=units, index=index, trap=trap)


def text(measure: str, offset: int, value: str, index: int = 0) -> Row:
    return Row("text", measure, offset, value=value, index=index)


def v(
    name: str,
    *rows: Row,
    sexes: tuple[str, ...] = ("F", "M"),
    ages: tuple[str, ...] | None = None,
    weight: float = 1.0,
) -> Variant:
    return Variant(name, rows, sexes, ages or Variant.__dataclass_fields__["ages"].default, weight)


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
        ),
    ),
    "pregnancy": (
        0.30,
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
        ),
    ),
}
