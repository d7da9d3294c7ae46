-- one row per landed patient row (all batches), typed, with the reason it cannot be staged (NULL = stageable)
with source as (
    select * from raw.patients
),

typed as (
    select
        clean_text("Id") as patient_id,
        parse_timestamp(BIRTHDATE)::date as birth_date,
        parse_timestamp(DEATHDATE)::date as death_date,
        normalize_sex(GENDER) as sex,
        clean_text(RACE) as race,
        clean_text(ETHNICITY) as ethnicity,
        clean_text(MARITAL) as marital,
        clean_text(STATE) as state,
        clean_text(COUNTY) as county,
        clean_text(BIRTHDATE) is null as birth_missing,
        bad_date(BIRTHDATE, birth_date) or bad_date(DEATHDATE, death_date) as has_bad_date,
        _batch_id,
        _source_line,
    from source
),

final as (
    select
        * exclude (birth_missing, has_bad_date),
        case
            when patient_id is null or birth_missing then 'missing_required_field'
            when has_bad_date then 'invalid_date'
            when birth_date > {{ today }} or death_date > {{ today }} then 'future_date'
            when death_date < birth_date then 'event_before_birth'
        end as _reject_reason,
        case
            when patient_id is null then 'Id is empty'
            when birth_missing then 'BIRTHDATE is empty'
            when has_bad_date then 'BIRTHDATE or DEATHDATE is not a date'
            when birth_date > {{ today }} or death_date > {{ today }} then 'date after the load date'
            when death_date < birth_date then 'DEATHDATE before BIRTHDATE'
        end as _reject_detail,
    from typed
)

select * from final
