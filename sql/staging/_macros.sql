-- Parsing helpers shared by the staging models (created before they run).

-- Text field: trimmed, empty means missing. trim() removes spaces and the other Unicode space separators;
-- a value with no space at either end and only ASCII characters has none to remove, so it skips the copy.
create or replace macro clean_text(value) as nullif(
    case
        when starts_with(value, ' ') or ends_with(value, ' ') or strlen(value) <> length(value) then trim(value)
        else value
    end,
    ''
);

-- Any date column accepts YYYY-MM-DD or ISO 8601 UTC times (input.md); anything else is NULL.
-- The two forms Synthea writes are told apart by their length and tried alone first (a failed try_strptime is
-- costly: 3.5x slower on plain dates); coalesce only evaluates the full list for the rest.
create or replace macro parse_timestamp(value) as coalesce(
    case length(value)
        when 20 then try_strptime(value, '%Y-%m-%dT%H:%M:%SZ')
        when 10 then try_strptime(value, '%Y-%m-%d')
    end,
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
