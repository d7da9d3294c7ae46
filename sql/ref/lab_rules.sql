-- one row per lab code and accepted unit: the measure, the factor to its canonical unit and its plausible
-- range (what the data-quality checks judge lab units and values by, from the same seeds as the phenotype)
with

value_set_codes as (
    select * from ref.value_set_codes
),

lab_units as (
    select * from ref.lab_units
),

plausible_ranges as (
    select * from ref.lab_plausible_ranges
),

final as (
    select
        value_set_codes.code_key as code,
        lab_units.measure,
        lower(trim(coalesce(lab_units.unit, ''))) as unit,
        lab_units.factor_to_canonical,
        lab_units.canonical_unit,
        plausible_ranges.plausible_min,
        plausible_ranges.plausible_max,
    from lab_units
    inner join value_set_codes
        on value_set_codes.value_set = lab_units.measure
    left join plausible_ranges
        on plausible_ranges.measure = lab_units.measure
)

select * from final
