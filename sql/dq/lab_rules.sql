-- one row per lab code and accepted unit: the measure, the factor to its canonical unit and its plausible range
-- (read from the seeds, so the checks and the phenotype judge units and ranges by the same lists)
with value_sets as (
    select * from read_csv('{{ seeds_dir }}/value_sets.csv', header = true, all_varchar = true)
),

lab_units as (
    select * from read_csv('{{ seeds_dir }}/lab_units.csv', header = true, all_varchar = true)
),

parameters as (
    select * from read_csv('{{ seeds_dir }}/phenotype_parameters.csv', header = true, all_varchar = true)
),

plausible_ranges as (
    select
        replace(parameter, '_plausible_min', '') as measure,
        max(value::double) as plausible_min,
    from parameters
    where parameter like '%\_plausible\_min' escape '\'
    group by all
),

plausible_maxima as (
    select
        replace(parameter, '_plausible_max', '') as measure,
        max(value::double) as plausible_max,
    from parameters
    where parameter like '%\_plausible\_max' escape '\'
    group by all
),

final as (
    select
        value_sets.code,
        lab_units.measure,
        lower(trim(coalesce(lab_units.unit, ''))) as unit,
        lab_units.factor_to_canonical::double as factor_to_canonical,
        lab_units.canonical_unit,
        plausible_ranges.plausible_min,
        plausible_maxima.plausible_max,
    from lab_units
    inner join value_sets
        on value_sets.value_set = lab_units.measure
    left join plausible_ranges
        on plausible_ranges.measure = lab_units.measure
    left join plausible_maxima
        on plausible_maxima.measure = lab_units.measure
)

select * from final
