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
    -- a flag is true exactly when it has evidence (one column per flag of sql/cohort/flags.csv)
    select
        patient_id,
        {{ flags_from_evidence }},
    from flag_evidence
    group by patient_id
),

joined as (
    select
        cohort_patients.patient_id,
        cohort_patients.index_date,
        cohort_patients.cramp_events,
        {{ cramp_pattern_flags }},
        cohort_patients.age_at_index,
        patients.sex,
        {{ other_flags }},
    from cohort_patients
    left join flags
        on cohort_patients.patient_id = flags.patient_id
    left join patients
        on cohort_patients.patient_id = patients.patient_id
),

final as (
    select
        joined.*,
        {{ any_primary_risk }} as any_primary_risk,
        -- the primary and secondary risk factors (cramp patterns, neuropathy detail and mimics excluded)
        cast(
            {{ risk_factor_sum }}
            as integer
        ) as risk_factor_count,
        phenotype_version.phenotype_version,
    from joined
    cross join ref.phenotype_version as phenotype_version
)

select * from final
