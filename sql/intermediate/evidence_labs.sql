-- one row per (abnormal lab, cramp event) pair inside the lab window of that cramp (candidates:
-- flag_evidence keeps each lab once, against its closest cramp)
with

lab_results as (
    select * from intermediate.lab_results
    where usable
),

calcium_verdicts as (
    select * from intermediate.calcium_verdicts
),

cramp_events as (
    select * from cohort.cramp_events
),

parameters as (
    select * from ref.parameters
),

cramp_days as (
    select distinct
        patient_id,
        event_date as cramp_date,
    from cramp_events
),

abnormal_labs as (
    -- each abnormal lab with the window it counts in (days before / after the cramp)
    select
        'hypocalcemia' as flag,
        patient_id,
        measure,
        code_system,
        code,
        encounter_id,
        observation_date,
        observed_at,
        value_normalized,
        unit_normalized,
        parameters.lab_days_before as days_before,
        parameters.lab_days_after as days_after,
    from calcium_verdicts
    cross join parameters
    where is_low
    union all
    select
        'hypomagnesemia' as flag,
        patient_id,
        measure,
        code_system,
        code,
        encounter_id,
        observation_date,
        observed_at,
        value_canonical as value_normalized,
        canonical_unit as unit_normalized,
        parameters.lab_days_before as days_before,
        parameters.lab_days_after as days_after,
    from lab_results
    cross join parameters
    where measure = 'magnesium'
        and meets_threshold
    union all
    select
        'pad' as flag,
        patient_id,
        measure,
        code_system,
        code,
        encounter_id,
        observation_date,
        observed_at,
        value_canonical as value_normalized,
        canonical_unit as unit_normalized,
        parameters.lab_long_days_before as days_before,
        parameters.lab_long_days_after as days_after,
    from lab_results
    cross join parameters
    where measure = 'abi'
        and meets_threshold
),

final as (
    select
        abnormal_labs.patient_id,
        abnormal_labs.flag,
        'observation' as source,
        abnormal_labs.measure as value_set,
        abnormal_labs.code_system,
        abnormal_labs.code,
        abnormal_labs.encounter_id,
        abnormal_labs.observation_date as evidence_date,
        abnormal_labs.observed_at,
        abnormal_labs.value_normalized,
        abnormal_labs.unit_normalized,
        cramp_days.cramp_date,
        phenotype_version.phenotype_version,
    from abnormal_labs
    inner join cramp_days
        on abnormal_labs.patient_id = cramp_days.patient_id
        and abnormal_labs.observation_date
            between cramp_days.cramp_date - abnormal_labs.days_before
            and cramp_days.cramp_date + abnormal_labs.days_after
    cross join ref.phenotype_version as phenotype_version
)

select * from final
