-- one row per landed encounter row (all batches), typed, with the reason it cannot be staged (NULL = stageable)
with source as (
    select * from raw.encounters
),

patients as (
    select * from staging.patients
),

typed as (
    select
        clean_text("Id") as encounter_id,
        clean_text(PATIENT) as patient_id,
        parse_timestamp(START) as started_at,
        parse_timestamp(STOP) as stopped_at,
        started_at::date as start_date,
        stopped_at::date as stop_date,
        clean_text(ENCOUNTERCLASS) as encounter_class,
        clean_text(CODE) as code,
        clean_text(DESCRIPTION) as description,
        clean_text(REASONCODE) as reason_code,
        clean_text(START) is null as start_missing,
        bad_date(START, started_at) or bad_date(STOP, stopped_at) as has_bad_date,
        _batch_id,
        _source_line,
    from source
),

checked as (
    select
        typed.*,
        patients.patient_id is null as orphan_patient,
        patients.birth_date,
        patients.death_date,
    from typed
    left join patients
        on typed.patient_id = patients.patient_id
),

final as (
    select
        * exclude (start_missing, has_bad_date, orphan_patient, birth_date, death_date),
        case
            when encounter_id is null or patient_id is null or start_missing then 'missing_required_field'
            when has_bad_date then 'invalid_date'
            when start_date > {{ today }} then 'future_date'
            when orphan_patient then 'orphan_patient'
            when start_date < birth_date then 'event_before_birth'
            when start_date > death_date then 'event_after_death'
        end as _reject_reason,
        case
            when encounter_id is null then 'Id is empty'
            when patient_id is null then 'PATIENT is empty'
            when start_missing then 'START is empty'
            when has_bad_date then 'START or STOP is not a date'
            when start_date > {{ today }} then 'START after the load date'
            when orphan_patient then 'PATIENT not in patients'
            when start_date < birth_date then 'START before the patient''s BIRTHDATE'
            when start_date > death_date then 'START after the patient''s DEATHDATE'
        end as _reject_detail,
    from checked
)

select * from final
