-- one row per lab code: the measure (lab value set) it reports and whether its result is numeric or
-- text
with

value_set_codes as (
    select * from ref.value_set_codes
),

lab_units as (
    select * from ref.lab_units
),

lab_text_values as (
    select * from ref.lab_text_values
),

lab_measures as (
    -- a lab measure is a value set with units (numeric) or with text interpretations (qualitative)
    select distinct
        measure,
        true as is_numeric,
    from lab_units
    union
    select distinct
        measure,
        false as is_numeric,
    from lab_text_values
),

final as (
    select
        value_set_codes.value_set as measure,
        value_set_codes.code_system,
        value_set_codes.code_key as code,
        lab_measures.is_numeric,
    from value_set_codes
    inner join lab_measures
        on value_set_codes.value_set = lab_measures.measure
)

select * from final
