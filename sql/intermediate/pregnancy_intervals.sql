-- one row per piece of pregnancy start evidence with the episode it opens on its own: from its
-- start to the earliest of the first pregnancy outcome on or after the evidence date, the STOP of a
-- SNOMED CT pregnancy state, and the later of start + 280 days and evidence date + 14 days
with

starts as (
    select * exclude (phenotype_version) from intermediate.pregnancy_evidence
),

condition_matches as (
    select * from intermediate.condition_matches
),

patients as (
    select * from staging.patients
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

start_days as (
    select distinct
        patient_id,
        evidence_date,
    from starts
),

first_outcomes as (
    -- the first outcome on or after the evidence date ends the pregnancy that day (an earlier outcome
    -- is another pregnancy's); one row per patient and evidence date, so the join back is an equi-join
    -- (an engine without asof joins plans it as a hash join on the patient)
    select
        start_days.patient_id,
        start_days.evidence_date,
        min(outcomes.outcome_date) as first_outcome_date,
    from start_days
    inner join outcomes
        on start_days.patient_id = outcomes.patient_id
        and start_days.evidence_date <= outcomes.outcome_date
    group by
        start_days.patient_id,
        start_days.evidence_date
),

with_first_outcome as (
    select
        starts.*,
        first_outcomes.first_outcome_date,
    from starts
    left join first_outcomes
        on starts.patient_id = first_outcomes.patient_id
        and starts.evidence_date = first_outcomes.evidence_date
),

final as (
    select
        with_first_outcome.*,
        cast(least(
            with_first_outcome.state_stop_date,
            with_first_outcome.first_outcome_date,
            -- a post-term gestational-age code (Z3A.41 on day C) still covers its own day
            greatest(
                with_first_outcome.episode_start + parameters.pregnancy_max_days,
                with_first_outcome.evidence_date + parameters.pregnancy_days_after_evidence
            )
        ) as date) as episode_end,
        -- a pregnancy code on a male patient never sets the flag (plausibleGender failure,
        -- reported)
        coalesce(patients.sex = 'M', false) as is_male,
        phenotype_version.phenotype_version,
    from with_first_outcome
    cross join parameters
    cross join ref.phenotype_version as phenotype_version
    left join patients
        on with_first_outcome.patient_id = patients.patient_id
)

select * from final
