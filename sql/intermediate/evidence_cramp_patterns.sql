-- one row per (cramp event, cramp event) pair behind the cramp-pattern flags: the cramp events that
-- make frequent_cramps (n on distinct days within the window) and nocturnal_cramps true
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
    from cramp_events
),

numbered_days as (
    select
        patient_id,
        cramp_date,
        row_number() over (partition by patient_id order by cramp_date) as day_number,
    from cramp_days
),

frequent_runs as (
    -- n cramp days in a row with the first and the n-th at most the frequent window apart
    select
        first_day.patient_id,
        first_day.day_number as first_number,
        last_day.day_number as last_number,
    from numbered_days as first_day
    cross join parameters
    inner join numbered_days as last_day
        on first_day.patient_id = last_day.patient_id
        and last_day.day_number = first_day.day_number + parameters.frequent_min_events - 1
    where date_diff('day', first_day.cramp_date, last_day.cramp_date) <= parameters.frequent_window_days
),

frequent_days as (
    select distinct
        numbered_days.patient_id,
        numbered_days.cramp_date,
    from numbered_days
    inner join frequent_runs
        on numbered_days.patient_id = frequent_runs.patient_id
        and numbered_days.day_number
            between frequent_runs.first_number and frequent_runs.last_number
),

cramp_flags as (
    select
        cramp_events.patient_id,
        'frequent_cramps' as flag,
        cramp_events.event_date as cramp_date,
        cramp_events.code_system,
        cramp_events.code,
        cramp_events.encounter_id,
    from cramp_events
    semi join frequent_days
        on cramp_events.patient_id = frequent_days.patient_id
        and cramp_events.event_date = frequent_days.cramp_date
    union all
    select
        patient_id,
        'nocturnal_cramps' as flag,
        event_date as cramp_date,
        code_system,
        code,
        encounter_id,
    from cramp_events
    where nocturnal
),

cramp_evidence as (
    select
        patient_id,
        flag,
        'condition' as source,
        'cramp' as value_set,
        code_system,
        code,
        encounter_id,
        cramp_date as evidence_date,
        cast(null as timestamp) as observed_at,
        cast(null as double) as value_normalized,
        cast(null as varchar) as unit_normalized,
        cramp_date,
    from cramp_flags
),

final as (
    select
        cramp_evidence.*,
        phenotype_version.phenotype_version,
    from cramp_evidence
    cross join ref.phenotype_version as phenotype_version
)

select * from final
