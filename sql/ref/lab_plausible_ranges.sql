-- one row per lab measure with a plausible range (canonical unit), from the *_plausible_min/max
-- parameters
with

parameters as (
    select * from ref.phenotype_parameters
),

bounds as (
    select
        regexp_extract(parameter, '^(.*)_plausible_(min|max)$', 1) as measure,
        regexp_extract(parameter, '^(.*)_plausible_(min|max)$', 2) as bound,
        cast(value as double) as value_canonical,
    from parameters
    where regexp_matches(parameter, '_plausible_(min|max)$')
),

final as (
    select
        measure,
        max(value_canonical) filter (where bound = 'min') as plausible_min,
        max(value_canonical) filter (where bound = 'max') as plausible_max,
    from bounds
    group by measure
)

select * from final
