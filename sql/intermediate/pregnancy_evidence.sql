-- one row per piece of pregnancy start evidence (a pregnancy dx or a positive hCG) that may start an
-- episode, with the day it dates the pregnancy's start to
with

condition_matches as (
    select * from intermediate.condition_matches
),

lab_results as (
    select * from intermediate.lab_results
),

gestation_weeks as (
    select
        code_system,
        upper(replace(code, '.', '')) as code,
        weeks,
    from ref.gestation_weeks
),

parameters as (
    select * from ref.parameters
),

outcomes as (
    select distinct
        patient_id,
        start_date as outcome_date,
    from condition_matches
    where value_set = 'pregnancy_outcome'
),

pregnancy_dx as (
    select * from condition_matches
    where value_set = 'pregnancy'
),

dx_starts as (
    -- a weeks-of-gestation code dates the start nn weeks before the code's own date; only a SNOMED CT
    -- pregnancy state (one condition from conception to delivery) ends its episode at its STOP: an
    -- ICD-10-CM code is a visit diagnosis, and its STOP is the visit's end
    select
        pregnancy_dx.patient_id,
        'condition' as source,
        pregnancy_dx.value_set,
        pregnancy_dx.code_system,
        pregnancy_dx.code,
        pregnancy_dx.encounter_id,
        pregnancy_dx.start_date as evidence_date,
        cast(null as timestamp) as observed_at,
        cast(null as double) as value_normalized,
        cast(null as varchar) as unit_normalized,
        cast(pregnancy_dx.start_date - 7 * coalesce(gestation_weeks.weeks, 0) as date)
            as episode_start,
        case when pregnancy_dx.code_system = 'SNOMED' then pregnancy_dx.stop_date end
            as state_stop_date,
    from pregnancy_dx
    left join gestation_weeks
        on pregnancy_dx.code_system = gestation_weeks.code_system
        and pregnancy_dx.code = gestation_weeks.code
    -- a pregnancy code on the day of an outcome (the delivery record) starts nothing: the outcome
    -- ends the pregnancy that day
    anti join outcomes
        on pregnancy_dx.patient_id = outcomes.patient_id
        and pregnancy_dx.start_date = outcomes.outcome_date
),

positive_hcg as (
    select lab_results.*
    from lab_results
    where lab_results.usable
        and (
            (lab_results.measure = 'hcg_qualitative' and lab_results.is_positive_text)
            or (lab_results.measure = 'hcg_quantitative' and lab_results.meets_threshold)
        )
),

hcg_starts as (
    -- hCG stays positive for weeks after a delivery or loss: a positive test from the day of an
    -- outcome to the end of the after-outcome window starts nothing
    select
        positive_hcg.patient_id,
        'observation' as source,
        positive_hcg.measure as value_set,
        positive_hcg.code_system,
        positive_hcg.code,
        positive_hcg.encounter_id,
        positive_hcg.observation_date as evidence_date,
        positive_hcg.observed_at,
        positive_hcg.value_canonical as value_normalized,
        positive_hcg.canonical_unit as unit_normalized,
        positive_hcg.observation_date as episode_start,
        cast(null as date) as state_stop_date,
    from positive_hcg
    cross join parameters
    anti join outcomes
        on positive_hcg.patient_id = outcomes.patient_id
        and positive_hcg.observation_date
            between outcomes.outcome_date
            and outcomes.outcome_date + parameters.pregnancy_hcg_after_outcome_days
),

final as (
    select
        starts.*,
        phenotype_version.phenotype_version,
    from (
        select * from dx_starts
        union all
        select * from hcg_starts
    ) as starts
    cross join ref.phenotype_version as phenotype_version
)

select * from final
