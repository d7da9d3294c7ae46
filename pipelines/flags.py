"""The flag columns of `cohort.patient_flags` (the output contract), named once for every module."""

PRIMARY_FLAGS: tuple[str, ...] = ("hypocalcemia", "neuropathy", "pad", "pregnancy")
SECONDARY_FLAGS: tuple[str, ...] = (
    "hypomagnesemia",
    "dehydration_heat",
    "structural_foot",
    "venous_stasis_edema",
    "juvenile_arthritis",
    "elderly",
    "pediatric_22q11",
    "sever_disease",
)
# Not risk factors (not counted in risk_factor_count): cramp patterns, neuropathy detail, mimics.
OTHER_FLAGS: tuple[str, ...] = (
    "frequent_cramps",
    "nocturnal_cramps",
    "diabetic_neuropathy",
    "hcv_neuropathy",
    "mimic_rls",
    "mimic_claudication",
    "mimic_contracture",
)
# Every boolean flag that must have evidence when true (the summary columns excluded).
FLAG_COLUMNS: tuple[str, ...] = (
    "frequent_cramps",
    "nocturnal_cramps",
    *PRIMARY_FLAGS,
    *SECONDARY_FLAGS,
    "diabetic_neuropathy",
    "hcv_neuropathy",
    "mimic_rls",
    "mimic_claudication",
    "mimic_contracture",
)
