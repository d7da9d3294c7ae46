-- one row per value-set entry, with the key conditions and observations are matched on
with

value_sets as (
    select * from ref.value_sets
),

keyed as (
    select
        value_set,
        code_system,
        code as code_listed,
        match,
        -- ICD-10-CM compares upper-case without the dot; SNOMED CT, LOINC and RxNorm compare as
        -- written.
        case
            when code_system = 'ICD10CM' then upper(replace(trim(code), '.', ''))
            else trim(code)
        end as code_key,
    from value_sets
),

final as (
    select
        value_set,
        code_system,
        code_listed,
        code_key,
        match,
        length(code_key) as code_key_length,
    from keyed
)

select * from final
