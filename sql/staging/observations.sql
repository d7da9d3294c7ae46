-- one row per landed observation row (all batches), typed; the shared event rules add the reject reason
select
    clean_text(PATIENT) as patient_id,
    clean_text(ENCOUNTER) as encounter_id,
    parse_timestamp("DATE") as observed_at,
    observed_at::date as observation_date,
    clean_text(CATEGORY) as category,
    'LOINC' as code_system,
    upper(clean_text(CODE)) as code,
    clean_text(DESCRIPTION) as description,
    clean_text("VALUE") as value_text,
    -- the number, or the bound of a censored result (>1000, <0.5) with its comparator (as FHIR's Quantity)
    result_number(value_text) as value_numeric,
    case when value_numeric is not null then value_comparator(value_text) end as value_comparator,
    clean_text(UNITS) as units,
    lower(clean_text("TYPE")) as value_type,
    observation_date as _event_date,
    case
        when clean_text(PATIENT) is null then 'PATIENT'
        when clean_text("DATE") is null then 'DATE'
        when clean_text(CODE) is null then 'CODE'
    end as _missing_field,
    case
        when bad_date("DATE", observed_at) then 'DATE'
    end as _bad_date_field,
    _batch_id,
    _source_line,
from raw.observations
