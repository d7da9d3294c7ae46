-- Parsing helpers shared by the staging models (created before they run).

-- Text field: trimmed, empty means missing.
create or replace macro clean_text(value) as nullif(trim(value), '');

-- Any date column accepts YYYY-MM-DD or ISO 8601 UTC times (input.md); anything else is NULL.
-- The two forms Synthea writes are tried alone first: coalesce only evaluates the list for the rest (2x faster).
create or replace macro parse_timestamp(value) as coalesce(
    try_strptime(value, '%Y-%m-%dT%H:%M:%SZ'),
    try_strptime(value, '%Y-%m-%d'),
    try_strptime(
        trim(value),
        [
            '%Y-%m-%dT%H:%M:%SZ',
            '%Y-%m-%d',
            '%Y-%m-%dT%H:%M:%S.%fZ',
            '%Y-%m-%dT%H:%M:%S',
            '%Y-%m-%d %H:%M:%S'
        ]
    )
);

-- Present but unparseable (given the value already parsed): the row cannot be typed.
create or replace macro bad_date(raw_value, parsed_value) as clean_text(raw_value) is not null and parsed_value is null;

-- ICD-10-CM codes compare without the dot; all codes are trimmed and upper-cased.
create or replace macro normalize_code(code_system, code) as
    case
        when code_system = 'ICD10CM' then upper(replace(trim(code), '.', ''))
        else upper(trim(code))
    end;
