-- one row per value-set entry (value set, code system, code, match): staged rows and patients the phenotype matched
with

value_sets as (
    -- rowid: the entry's line in the seed file, kept as the display order
    select
        *,
        rowid as seed_row,
    from {{ value_sets }}
),

condition_matches as (
    select * from {{ condition_matches }}
),

lab_results as (
    select * from {{ lab_results }}
),

context as (
    select * from mart_context
),

entries as (
    -- codes keyed the way staging stores them (ICD-10-CM upper-case without the dot)
    select
        row_number() over (order by seed_row) as entry_order,
        value_set,
        code_system,
        code,
        match,
        case
            when code_system = 'ICD10CM' then upper(replace(trim(code), '.', ''))
            else trim(code)
        end as code_key,
    from value_sets
),

matched_codes as (
    -- the few distinct matched codes, each tied to the entry that matched it (a prefix entry covers its children)
    select distinct
        codes.value_set,
        codes.code_system,
        codes.code,
        entries.entry_order,
    from (
        select distinct
            value_set,
            code_system,
            code,
        from condition_matches
        union
        select distinct
            measure as value_set,
            code_system,
            code,
        from lab_results
    ) as codes
    inner join entries
        on codes.value_set = entries.value_set
        and codes.code_system = entries.code_system
        and (
            codes.code = entries.code_key
            or (entries.match = 'prefix' and starts_with(codes.code, entries.code_key))
        )
),

matched_rows as (
    select
        value_set,
        code_system,
        code,
        patient_id,
    from condition_matches
    union all
    select
        measure as value_set,
        code_system,
        code,
        patient_id,
    from lab_results
),

counts as (
    select
        matched_codes.entry_order,
        count(*)::bigint as matched_rows,
        count(distinct matched_rows.patient_id)::bigint as matched_patients,
    from matched_rows
    inner join matched_codes
        on matched_rows.value_set = matched_codes.value_set
        and matched_rows.code_system = matched_codes.code_system
        and matched_rows.code = matched_codes.code
    group by all
),

final as (
    select
        entries.entry_order,
        entries.value_set,
        entries.code_system,
        entries.code,
        entries.match,
        coalesce(counts.matched_patients, 0) as matched_patients,
        coalesce(counts.matched_rows, 0) as matched_rows,
        context.run_id,
        context.batch_id,
        context.phenotype_version,
    from entries
    left join counts
        on entries.entry_order = counts.entry_order
    cross join context
)

select * from final
