-- one row per piece of pregnancy start evidence with the episode it opens on its own: from its
-- start to the earliest of its STOP, the first pregnancy outcome after the start and start + 280
-- days
with

starts as (
    select * exclude (phenotype_version) from cohort.pregnancy_evidence
),

condition_matches as (
    select * from cohort.condition_matches
),

patients as (
    select * from staging.patients
),

parameters as (
    select * from ref.parameters
),

outcomes as (
    select
        patient_id,
        start_date as outcome_date,
    from condition_matches
    where value_set = 'pregnancy_outcome'
),

first_outcome_after_start as (
    -- only the outcome strictly after the start ends the episode (an earlier delivery is another
    -- pregnancy)
    select
        starts.start_id,
        min(outcomes.outcome_date) as outcome_date,
    from starts
    inner join outcomes
        on starts.patient_id = outcomes.patient_id
        and outcomes.outcome_date > starts.episode_start
    group by all
),

final as (
    select
        starts.*,
        cast(least(
            starts.stop_date,
            first_outcome_after_start.outcome_date,
            starts.episode_start + parameters.pregnancy_max_days
        ) as date) as episode_end,
        -- a pregnancy code on a male patient never sets the flag (plausibleGender failure,
        -- reported)
        coalesce(upper(trim(patients.sex)) = 'M', false) as is_male,
        phenotype_version.phenotype_version,
    from starts
    cross join parameters
    cross join ref.phenotype_version as phenotype_version
    left join first_outcome_after_start
        on starts.start_id = first_outcome_after_start.start_id
    left join patients
        on starts.patient_id = patients.patient_id
)

select * from final
