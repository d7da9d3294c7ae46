-- one row per patient with at least one cramp event: index date, age, sex and every flag
with

cramp_events as (
    select * from cohort.cramp_events
),

flag_evidence as (
    select * from cohort.flag_evidence
),

patients as (
    select * from staging.patients
),

cohort_patients as (
    select
        patient_id,
        min(event_date) as index_date,
        cast(count(distinct event_date) as integer) as cramp_events,
        arg_min(age_years, event_date) as age_at_index,
    from cramp_events
    group by patient_id
),

flags as (
    -- a flag is true exactly when it has evidence
    select
        patient_id,
        bool_or(flag = 'frequent_cramps') as frequent_cramps,
        bool_or(flag = 'nocturnal_cramps') as nocturnal_cramps,
        bool_or(flag = 'hypocalcemia') as hypocalcemia,
        bool_or(flag = 'neuropathy') as neuropathy,
        bool_or(flag = 'pad') as pad,
        bool_or(flag = 'pregnancy') as pregnancy,
        bool_or(flag = 'hypomagnesemia') as hypomagnesemia,
        bool_or(flag = 'dehydration_heat') as dehydration_heat,
        bool_or(flag = 'structural_foot') as structural_foot,
        bool_or(flag = 'venous_stasis_edema') as venous_stasis_edema,
        bool_or(flag = 'juvenile_arthritis') as juvenile_arthritis,
        bool_or(flag = 'elderly') as elderly,
        bool_or(flag = 'pediatric_22q11') as pediatric_22q11,
        bool_or(flag = 'sever_disease') as sever_disease,
        bool_or(flag = 'diabetic_neuropathy') as diabetic_neuropathy,
        bool_or(flag = 'hcv_neuropathy') as hcv_neuropathy,
        bool_or(flag = 'mimic_rls') as mimic_rls,
        bool_or(flag = 'mimic_claudication') as mimic_claudication,
        bool_or(flag = 'mimic_contracture') as mimic_contracture,
    from flag_evidence
    group by patient_id
),

joined as (
    select
        cohort_patients.patient_id,
        cohort_patients.index_date,
        cohort_patients.cramp_events,
        coalesce(flags.frequent_cramps, false) as frequent_cramps,
        coalesce(flags.nocturnal_cramps, false) as nocturnal_cramps,
        cohort_patients.age_at_index,
        patients.sex,
        coalesce(flags.hypocalcemia, false) as hypocalcemia,
        coalesce(flags.neuropathy, false) as neuropathy,
        coalesce(flags.pad, false) as pad,
        coalesce(flags.pregnancy, false) as pregnancy,
        coalesce(flags.hypomagnesemia, false) as hypomagnesemia,
        coalesce(flags.dehydration_heat, false) as dehydration_heat,
        coalesce(flags.structural_foot, false) as structural_foot,
        coalesce(flags.venous_stasis_edema, false) as venous_stasis_edema,
        coalesce(flags.juvenile_arthritis, false) as juvenile_arthritis,
        coalesce(flags.elderly, false) as elderly,
        coalesce(flags.pediatric_22q11, false) as pediatric_22q11,
        coalesce(flags.sever_disease, false) as sever_disease,
        coalesce(flags.diabetic_neuropathy, false) as diabetic_neuropathy,
        coalesce(flags.hcv_neuropathy, false) as hcv_neuropathy,
        coalesce(flags.mimic_rls, false) as mimic_rls,
        coalesce(flags.mimic_claudication, false) as mimic_claudication,
        coalesce(flags.mimic_contracture, false) as mimic_contracture,
    from cohort_patients
    left join flags
        on cohort_patients.patient_id = flags.patient_id
    left join patients
        on cohort_patients.patient_id = patients.patient_id
),

final as (
    select
        joined.*,
        hypocalcemia or neuropathy or pad or pregnancy as any_primary_risk,
        -- the 4 primary + 8 secondary risk factors (cramp patterns, neuropathy detail and mimics
        -- excluded)
        cast(
            hypocalcemia::integer + neuropathy::integer + pad::integer + pregnancy::integer
            + hypomagnesemia::integer + dehydration_heat::integer + structural_foot::integer
            + venous_stasis_edema::integer + juvenile_arthritis::integer + elderly::integer
            + pediatric_22q11::integer + sever_disease::integer
            as integer
        ) as risk_factor_count,
        phenotype_version.phenotype_version,
    from joined
    cross join ref.phenotype_version as phenotype_version
)

select * from final
