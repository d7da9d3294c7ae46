-- one row per landed procedure row (all batches), typed; the shared event rules add the reject reason
select
    clean_text(p.PATIENT) as patient_id,
    clean_text(p.ENCOUNTER) as encounter_id,
    coalesce(systems.code_system, 'UNKNOWN') as code_system,
    clean_text(p.SYSTEM) as source_system,
    normalize_code(coalesce(systems.code_system, 'UNKNOWN'), p.CODE) as code,
    clean_text(p.DESCRIPTION) as description,
    parse_timestamp(p.START) as started_at,
    parse_timestamp(p.STOP) as stopped_at,
    started_at::date as start_date,
    clean_text(p.REASONCODE) as reason_code,
    start_date as _event_date,
    case
        when clean_text(p.PATIENT) is null then 'PATIENT'
        when clean_text(p.START) is null then 'START'
        when clean_text(p.CODE) is null then 'CODE'
    end as _missing_field,
    case
        when bad_date(p.START, started_at) then 'START'
        when bad_date(p.STOP, stopped_at) then 'STOP'
    end as _bad_date_field,
    p._batch_id,
    p._source_line,
from raw.procedures as p
left join ref.code_system_map as systems
    on system_label(p.SYSTEM) = systems.source_system
