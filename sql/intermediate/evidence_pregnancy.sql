-- one row per (pregnancy start evidence, cramp event) pair where the merged episode the evidence
-- belongs to covers the cramp (candidates: flag_evidence keeps each piece once, against its closest
-- cramp)
with

cramp_events as (
    select * from cohort.cramp_events
),

pregnancy_intervals as (
    select * from intermediate.pregnancy_intervals
    where episode_end >= episode_start
),

pregnancy_episodes as (
    select * from intermediate.pregnancy_episodes
),

cramp_days as (
    select distinct
        patient_id,
        event_date as cramp_date,
    from cramp_events
),

covering_episodes as (
    -- a male patient never gets the flag
    select
        cramp_days.patient_id,
        cramp_days.cramp_date,
        pregnancy_episodes.episode_start,
        pregnancy_episodes.episode_end,
    from cramp_days
    inner join pregnancy_episodes
        on cramp_days.patient_id = pregnancy_episodes.patient_id
        and cramp_days.cramp_date
            between pregnancy_episodes.episode_start and pregnancy_episodes.episode_end
    where not pregnancy_episodes.is_male
),

episode_evidence as (
    -- every start evidence of the merged episode: each interval lies inside exactly one merged
    -- episode, so its start places it
    select
        covering_episodes.patient_id,
        'pregnancy' as flag,
        pregnancy_intervals.source,
        pregnancy_intervals.value_set,
        pregnancy_intervals.code_system,
        pregnancy_intervals.code,
        pregnancy_intervals.encounter_id,
        pregnancy_intervals.evidence_date,
        pregnancy_intervals.observed_at,
        pregnancy_intervals.value_normalized,
        pregnancy_intervals.unit_normalized,
        covering_episodes.cramp_date,
    from covering_episodes
    inner join pregnancy_intervals
        on covering_episodes.patient_id = pregnancy_intervals.patient_id
        and pregnancy_intervals.episode_start
            between covering_episodes.episode_start and covering_episodes.episode_end
),

final as (
    select
        episode_evidence.*,
        phenotype_version.phenotype_version,
    from episode_evidence
    cross join ref.phenotype_version as phenotype_version
)

select * from final
