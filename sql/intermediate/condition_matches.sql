-- one row per staged condition row per value set its code falls in (the only conditions the
-- phenotype reads)
with

conditions as (
    select * from staging.conditions
    where start_date is not null
),

value_set_codes as (
    select * from ref.value_set_codes
),

exact_matches as (
    -- code systems outside the value sets (UNKNOWN, ...) find no partner and never match
    select
        conditions.*,
        value_set_codes.value_set,
    from conditions
    inner join value_set_codes
        on conditions.code_system = value_set_codes.code_system
        and conditions.code = value_set_codes.code_key
    where value_set_codes.match = 'exact'
),

prefix_stems as (
    -- every prefix key is at least a 3-character ICD-10-CM category
    select distinct
        code_system,
        left(code_key, 3) as stem,
    from value_set_codes
    where match = 'prefix'
),

prefix_lengths as (
    select distinct
        code_system,
        code_key_length,
    from value_set_codes
    where match = 'prefix'
),

prefix_candidates as (
    -- drop the bulk of conditions (categories no prefix starts with) before cutting codes to key
    -- lengths
    select conditions.*
    from conditions
    semi join prefix_stems
        on conditions.code_system = prefix_stems.code_system
        and left(conditions.code, 3) = prefix_stems.stem
),

prefix_keys as (
    -- each code cut to every prefix key length: matching becomes an equi-join, not a prefix scan
    -- per pair
    select
        prefix_candidates.*,
        left(prefix_candidates.code, prefix_lengths.code_key_length) as code_key,
    from prefix_candidates
    inner join prefix_lengths
        on prefix_candidates.code_system = prefix_lengths.code_system
        and length(prefix_candidates.code) >= prefix_lengths.code_key_length
),

prefix_matches as (
    select
        prefix_keys.* exclude (code_key),
        value_set_codes.value_set,
    from prefix_keys
    inner join value_set_codes
        on prefix_keys.code_system = value_set_codes.code_system
        and prefix_keys.code_key = value_set_codes.code_key
    where value_set_codes.match = 'prefix'
),

matched as (
    -- no entry of a value set covers another entry of the same set (tests/reference/test_value_sets.py), so a
    -- condition row matches each value set at most once and union all cannot duplicate it
    -- both arms carry the conditions' columns, then value_set, in that order (a positional union: Spark SQL has
    -- no `union all by name`)
    select
        patient_id,
        encounter_id,
        value_set,
        code_system,
        code,
        description,
        start_date,
        stop_date,
    from (
        select * from exact_matches
        union all
        select * from prefix_matches
    ) as both_arms
),

final as (
    select
        matched.patient_id,
        matched.encounter_id,
        matched.value_set,
        matched.code_system,
        matched.code,
        matched.description,
        matched.start_date,
        matched.stop_date,
        phenotype_version.phenotype_version,
    from matched
    cross join ref.phenotype_version as phenotype_version
)

select * from final
