-- one row per (pregnancy start evidence, cramp event) pair where the evidence's episode covers the
-- cramp (candidates: flag_evidence keeps each piece once, against its closest cramp)
with

cramp_events as (
    select * from cohort.cramp_events
),

pregnancy_intervals as (
    select * from cohort.pregnancy_intervals
),

cramp_days as (
    select distinct
        patient_id,
        event_date as cramp_date,
    from cramp_events
),

covering as (
    -- merged episodes are unions of these intervals, so C lies in a merged episode exactly when
    -- it lies in one of them; a male patient never gets the flag
    select
        cramp_days.patient_id,
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
        cramp_days.cramp_date,
    from cramp_days
    inner join pregnancy_intervals
        on cramp_days.patient_id = pregnancy_intervals.patient_id
        and cramp_days.cramp_date
            between pregnancy_intervals.episode_start and pregnancy_intervals.episode_end
    where not pregnancy_intervals.is_male
),

final as (
    select
        covering.*,
        phenotype_version.phenotype_version,
    from covering
    cross join ref.phenotype_version as phenotype_version
)

select * from final
