-- one row per usable calcium lab row that decides its patient-day (ionized calcium when the day has
-- one, else the albumin-corrected total calcium), with its low / not-low verdict
with

lab_results as (
    select * from intermediate.lab_results
    where usable
),

calcium_corrected as (
    select * from intermediate.calcium_corrected
),

parameters as (
    select * from ref.parameters
),

ionized as (
    select * from lab_results
    where measure = 'calcium_ionized'
),

verdicts as (
    select
        patient_id,
        encounter_id,
        observed_at,
        observation_date,
        measure,
        code_system,
        code,
        value_canonical as value_normalized,
        canonical_unit as unit_normalized,
        cast(null as double) as albumin_g_dl,
        meets_threshold as is_low,
    from ionized
    union all
    select
        patient_id,
        encounter_id,
        observed_at,
        observation_date,
        measure,
        code_system,
        code,
        calcium_corrected_mg_dl as value_normalized,
        canonical_unit as unit_normalized,
        albumin_g_dl,
        calcium_corrected_mg_dl < parameters.calcium_corrected_low_mg_dl as is_low,
    from calcium_corrected
    cross join parameters
),

final as (
    select
        verdicts.*,
        phenotype_version.phenotype_version,
    from verdicts
    cross join ref.phenotype_version as phenotype_version
)

select * from final
