-- one row per piece of pregnancy start evidence (a pregnancy dx or a positive hCG) with the day it
-- dates the pregnancy's start to
with

condition_matches as (
    select * from cohort.condition_matches
),

lab_results as (
    select * from cohort.lab_results
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

dx_starts as (
    -- a weeks-of-gestation code dates the start nn weeks before the code's own date
    select
        pregnancy.patient_id,
        'condition' as source,
        pregnancy.value_set,
        pregnancy.code_system,
        pregnancy.code,
        pregnancy.encounter_id,
        pregnancy.start_date as evidence_date,
        cast(null as timestamp) as observed_at,
        cast(null as double) as value_normalized,
        cast(null as varchar) as unit_normalized,
        cast(pregnancy.start_date - 7 * coalesce(gestation_weeks.weeks, 0) as date)
            as episode_start,
        pregnancy.stop_date,
    from condition_matches as pregnancy
    left join gestation_weeks
        on pregnancy.code_system = gestation_weeks.code_system
        and pregnancy.code = gestation_weeks.code
    where pregnancy.value_set = 'pregnancy'
),

hcg_starts as (
    select
        lab_results.patient_id,
        'observation' as source,
        lab_results.measure as value_set,
        lab_results.code_system,
        lab_results.code,
        lab_results.encounter_id,
        lab_results.observation_date as evidence_date,
        lab_results.observed_at,
        lab_results.value_canonical as value_normalized,
        lab_results.canonical_unit as unit_normalized,
        lab_results.observation_date as episode_start,
        cast(null as date) as stop_date,
    from lab_results
    cross join parameters
    where lab_results.usable
        and (
            (lab_results.measure = 'hcg_qualitative' and lab_results.is_positive_text)
            or (lab_results.measure = 'hcg_quantitative'
                and lab_results.value_canonical >= parameters.hcg_positive_miu_ml)
        )
),

final as (
    select
        row_number() over () as start_id,
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
