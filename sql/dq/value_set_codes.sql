-- one row per value-set entry, codes compared as staging stores them (ICD-10-CM without the dot)
with value_sets as (
    select * from read_csv('{{ seeds_dir }}/value_sets.csv', header = true, all_varchar = true)
),

final as (
    select
        value_set,
        code_system,
        upper(replace(trim(code), '.', '')) as code,
        match,
    from value_sets
)

select * from final
