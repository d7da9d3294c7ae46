-- one row per landed condition row (all batches), typed; the shared event rules add the reject reason
select
    clean_text(c.PATIENT) as patient_id,
    clean_text(c.ENCOUNTER) as encounter_id,
    coalesce(systems.code_system, 'UNKNOWN') as code_system,
    clean_text(c.SYSTEM) as source_system,
    normalize_code(coalesce(systems.code_system, 'UNKNOWN'), c.CODE) as code,
    clean_text(c.DESCRIPTION) as description,
    parse_timestamp(c.START)::date as start_date,
    parse_timestamp(c.STOP)::date as stop_date,
    start_date as _event_date,
    case
        when clean_text(c.PATIENT) is null then 'PATIENT'
        when clean_text(c.START) is null then 'START'
        when clean_text(c.CODE) is null then 'CODE'
    end as _missing_field,
    case
        when bad_date(c.START, start_date) then 'START'
        when bad_date(c.STOP, stop_date) then 'STOP'
    end as _bad_date_field,
    c._batch_id,
    c._source_line,
from raw.conditions as c
left join ref.code_system_map as systems
    on system_label(c.SYSTEM) = systems.source_system
