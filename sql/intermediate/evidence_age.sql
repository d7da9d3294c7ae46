-- one row per (patient, cramp event) where the age at the cramp makes the patient elderly
with

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
        age_years,
    from cramp_events
),

elderly as (
    select
        patient_id,
        'elderly' as flag,
        'patient' as source,
        cast(null as varchar) as value_set,
        cast(null as varchar) as code_system,
        cast(null as varchar) as code,
        cast(null as varchar) as encounter_id,
        cramp_date as evidence_date,
        cast(null as timestamp) as observed_at,
        cast(age_years as double) as value_normalized,
        'years' as unit_normalized,
        cramp_date,
    from cramp_days
    cross join parameters
    where age_years >= parameters.elderly_age_years
),

final as (
    select
        elderly.*,
        phenotype_version.phenotype_version,
    from elderly
    cross join ref.phenotype_version as phenotype_version
)

select * from final
