-- one row per landed clinical-event row (all batches) of the model below, with the reason it cannot be staged.
-- Shared by conditions, observations, medications and procedures: the same rules hold for every event.
with typed as (
    {{ typed_model }}
),

patients as (
    select * from staging.patients
),

encounters as (
    select * from staging.encounters
),

checked as (
    select
        typed.*,
        patients.patient_id is null as orphan_patient,
        typed.encounter_id is not null
            and (
                encounters.encounter_id is null
                or encounters.patient_id is distinct from typed.patient_id
            ) as orphan_encounter,
        patients.birth_date,
        patients.death_date,
    from typed
    left join patients
        on typed.patient_id = patients.patient_id
    left join encounters
        -- encounter_id is the key of staged encounters (one match at most); joining on it alone and comparing the
        -- patient after is 2x cheaper than a join on both strings
        on typed.encounter_id = encounters.encounter_id
),

final as (
    select
        * exclude (orphan_patient, orphan_encounter, birth_date, death_date, _missing_field, _bad_date_field),
        case
            when _missing_field is not null then 'missing_required_field'
            when _bad_date_field is not null then 'invalid_date'
            when _event_date > {{ today }} then 'future_date'
            when orphan_patient then 'orphan_patient'
            when _event_date < birth_date then 'event_before_birth'
            when _event_date > death_date then 'event_after_death'
            when orphan_encounter then 'orphan_encounter'
        end as _reject_reason,
        case
            when _missing_field is not null then _missing_field || ' is empty'
            when _bad_date_field is not null then _bad_date_field || ' is not a date'
            when _event_date > {{ today }} then 'event date after the load date'
            when orphan_patient then 'PATIENT not in patients'
            when _event_date < birth_date then 'event before the patient''s BIRTHDATE'
            when _event_date > death_date then 'event after the patient''s DEATHDATE'
            when orphan_encounter then 'ENCOUNTER not in the staged encounters of this patient'
        end as _reject_detail,
    from checked
)

select * exclude (_event_date) from final
