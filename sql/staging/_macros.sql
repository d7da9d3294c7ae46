-- Parsing helpers shared by the staging models (created before they run).

-- Text field: every kind of white space (Unicode White_Space: space, tab, CR, LF, VT, FF, NEL, no-break spaces,
-- the U+2000 spaces, line and paragraph separators, ideographic space) removed at both ends; empty means missing.
-- DuckDB's trim() removes spaces (and the Unicode space separators) but not tabs or line breaks. The regular
-- expression is taken only by values that may need it: non-ASCII text, or a first or last character that is an
-- ASCII space or control character (2x cheaper than running it on every value).
create or replace macro clean_text(value) as nullif(
    case
        when strlen(value) <> length(value)
            or ascii(value) <= 32
            or ends_with(value, ' ')
            or ends_with(value, chr(9))
            or ends_with(value, chr(10))
            or ends_with(value, chr(11))
            or ends_with(value, chr(12))
            or ends_with(value, chr(13))
            then regexp_replace(value, '^[[:space:]\pZ\x{85}]+|[[:space:]\pZ\x{85}]+$', '', 'g')
        else value
    end,
    ''
);

-- Any date column accepts YYYY-MM-DD or ISO 8601 UTC times (the input contract); anything else is NULL.
-- The two forms Synthea writes are told apart by their length and tried alone first (a failed try_strptime is
-- costly: 3.5x slower on plain dates); coalesce only evaluates the full list for the rest.
create or replace macro parse_timestamp(value) as coalesce(
    case length(value)
        when 20 then try_strptime(value, '%Y-%m-%dT%H:%M:%SZ')
        when 10 then try_strptime(value, '%Y-%m-%d')
    end,
    try_strptime(
        clean_text(value),
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

-- A finite decimal number (given clean text), NULL otherwise. NaN, infinities and overflows (1e400) are not
-- numbers a lab reports. A thousands separator is read (1,250 = 1250) only in its strict form (groups of three
-- digits), so a decimal comma (2,5) is never guessed. DuckDB would also read 1_000 as 1000: no lab writes that.
create or replace macro parse_number(value) as
    case
        when contains(value, '_') then null
        when isfinite(try_cast(value as double)) then try_cast(value as double)
        when contains(value, ',') and regexp_full_match(value, '[+-]?[0-9]{1,3}(,[0-9]{3})+([.][0-9]+)?')
            then cast(replace(value, ',', '') as double)
    end;

-- The comparator of a censored result (">1000", "<= 0.5", "≥25"), written as <, <=, > or >=; NULL when the value
-- does not start with one.
create or replace macro value_comparator(value) as
    case
        when starts_with(value, '>=') or starts_with(value, '≥') then '>='
        when starts_with(value, '<=') or starts_with(value, '≤') then '<='
        when starts_with(value, '>') then '>'
        when starts_with(value, '<') then '<'
    end;

-- The number of a result (given clean text): the value itself, or the bound of a censored result.
create or replace macro result_number(value) as
    case
        when value_comparator(value) is null then parse_number(value)
        else parse_number(clean_text(regexp_replace(value, '^(>=|<=|≥|≤|>|<)', '')))
    end;

-- Sex as delivered in GENDER: M / MALE and F / FEMALE (trimmed, any case) are written M and F; anything else
-- is kept as delivered (trimmed), never guessed.
create or replace macro normalize_sex(value) as
    case upper(clean_text(value))
        when 'M' then 'M'
        when 'MALE' then 'M'
        when 'F' then 'F'
        when 'FEMALE' then 'F'
        else clean_text(value)
    end;

-- Code-system labels compare trimmed and upper-case; a blank or missing label is ''.
create or replace macro system_label(value) as upper(coalesce(clean_text(value), ''));

-- ICD-10-CM codes compare without the dot; all codes are trimmed (every kind of white space) and upper-cased.
create or replace macro normalize_code(code_system, code) as
    case
        when code_system = 'ICD10CM' then upper(replace(clean_text(code), '.', ''))
        else upper(clean_text(code))
    end;
