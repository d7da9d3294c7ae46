-- Parsing helpers shared by the staging models (created before they run).

-- Text field: trimmed, empty means missing.
create or replace macro clean_text(value) as nullif(trim(value), '');

-- Any date column accepts YYYY-MM-DD or ISO 8601 UTC times (input.md); anything else is NULL.
create or replace macro parse_timestamp(value) as try_strptime(
    trim(value),
    [
        '%Y-%m-%dT%H:%M:%SZ',
        '%Y-%m-%d',
        '%Y-%m-%dT%H:%M:%S.%fZ',
        '%Y-%m-%dT%H:%M:%S',
        '%Y-%m-%d %H:%M:%S'
    ]
);

-- Present but unparseable: the row cannot be typed.
create or replace macro bad_date(value) as clean_text(value) is not null and parse_timestamp(value) is null;

-- ICD-10-CM codes compare without the dot; all codes are trimmed and upper-cased.
create or replace macro normalize_code(code_system, code) as
    case
        when code_system = 'ICD10CM' then upper(replace(trim(code), '.', ''))
        else upper(trim(code))
    end;
