-- one row per landed medication row (all batches), typed; the shared event rules add the reject reason
select
    clean_text(PATIENT) as patient_id,
    clean_text(ENCOUNTER) as encounter_id,
    'RXNORM' as code_system,
    upper(clean_text(CODE)) as code,
    clean_text(DESCRIPTION) as description,
    parse_timestamp(START) as started_at,
    parse_timestamp(STOP) as stopped_at,
    started_at::date as start_date,
    stopped_at::date as stop_date,
    clean_text(REASONCODE) as reason_code,
    start_date as _event_date,
    case
        when clean_text(PATIENT) is null then 'PATIENT'
        when clean_text(START) is null then 'START'
        when clean_text(CODE) is null then 'CODE'
    end as _missing_field,
    case
        when bad_date(START, started_at) then 'START'
        when bad_date(STOP, stopped_at) then 'STOP'
    end as _bad_date_field,
    _batch_id,
    _source_line,
from raw.medications
