-- one row per staged observation whose code is in a lab value set, normalized to the measure's
-- canonical unit
with

observations as (
    select * from staging.observations
),

lab_codes as (
    select * from ref.lab_codes
),

lab_units as (
    select * from ref.lab_units
),

lab_text_values as (
    select * from ref.lab_text_values
),

plausible_ranges as (
    select * from ref.lab_plausible_ranges
),

parameters as (
    select * from ref.parameters
),

thresholds as (
    -- the threshold each measure is judged by on its own value: a censored result counts only where its
    -- bound itself meets it (total calcium is judged after albumin correction, which a censored value
    -- never enters; albumin has no threshold)
    select
        'calcium_ionized' as measure,
        '<' as rule,
        calcium_ionized_low_mmol_l as threshold,
    from parameters
    union all
    select
        'magnesium' as measure,
        '<' as rule,
        magnesium_low_mg_dl as threshold,
    from parameters
    union all
    select
        'abi' as measure,
        '<=' as rule,
        abi_low_ratio as threshold,
    from parameters
    union all
    select
        'hcg_quantitative' as measure,
        '>=' as rule,
        hcg_positive_miu_ml as threshold,
    from parameters
),

labs as (
    select
        observations.patient_id,
        observations.encounter_id,
        observations.observed_at,
        observations.observation_date,
        lab_codes.measure,
        lab_codes.is_numeric,
        observations.code_system,
        observations.code,
        observations.value_text,
        observations.value_numeric,
        observations.value_comparator,
        observations.units as unit_delivered,
        -- units match case-insensitively after trimming; no unit at all is the unit ''
        coalesce(lower(trim(observations.units)), '') as unit_key,
    from observations
    inner join lab_codes
        on observations.code_system = lab_codes.code_system
        and observations.code = lab_codes.code
),

normalized as (
    select
        labs.*,
        lab_units.canonical_unit,
        lab_units.factor_to_canonical is not null as is_known_unit,
        -- rounded so that float noise of a conversion never decides a threshold
        round(labs.value_numeric * lab_units.factor_to_canonical, 6) as value_canonical,
        lab_text_values.interpretation as text_interpretation,
    from labs
    left join lab_units
        on labs.measure = lab_units.measure
        and labs.unit_key = lab_units.unit
    left join lab_text_values
        on labs.measure = lab_text_values.measure
        and lower(trim(labs.value_text)) = lab_text_values.value_text
),

classified as (
    select
        normalized.*,
        case
            when not is_numeric then null
            when value_numeric is null then 'not_numeric'
            when not is_known_unit then 'unknown_unit'
            -- a censored result (<N: below N; <=N: at most N; >N, >=N: at least N) counts only when every
            -- value it allows meets the measure's threshold in its direction (so `<1.12` ionized calcium
            -- is low: every value below 1.12 is); otherwise it says nothing and is excluded
            when value_comparator is not null
                and not coalesce(
                    (value_comparator = '<' and thresholds.rule = '<'
                        and value_canonical <= thresholds.threshold)
                    or (value_comparator = '<=' and thresholds.rule = '<'
                        and value_canonical < thresholds.threshold)
                    or (value_comparator in ('<', '<=') and thresholds.rule = '<='
                        and value_canonical <= thresholds.threshold)
                    or (value_comparator in ('>', '>=') and thresholds.rule = '>='
                        and value_canonical >= thresholds.threshold),
                    false
                )
                then 'censored'
            when value_canonical < plausible_ranges.plausible_min then 'implausible'
            when value_canonical > plausible_ranges.plausible_max then 'implausible'
        end as exclusion_reason,
        thresholds.rule as threshold_rule,
        thresholds.threshold,
    from normalized
    left join plausible_ranges
        on normalized.measure = plausible_ranges.measure
    left join thresholds
        on normalized.measure = thresholds.measure
),

final as (
    select
        patient_id,
        encounter_id,
        observed_at,
        observation_date,
        measure,
        code_system,
        code,
        value_text,
        value_numeric,
        value_comparator,
        unit_delivered,
        case when exclusion_reason is null then value_canonical end as value_canonical,
        canonical_unit,
        coalesce(text_interpretation = 'positive', false) as is_positive_text,
        -- the measure's own threshold, judged once here: a censored value still usable has already been
        -- shown to meet it (every value it allows does); NULL for measures without one
        case
            when exclusion_reason is not null or threshold_rule is null then null
            when value_comparator is not null then true
            when threshold_rule = '<' then value_canonical < threshold
            when threshold_rule = '<=' then value_canonical <= threshold
            when threshold_rule = '>=' then value_canonical >= threshold
        end as meets_threshold,
        exclusion_reason is null as usable,
        exclusion_reason,
        phenotype_version.phenotype_version,
    from classified
    cross join ref.phenotype_version as phenotype_version
)

select * from final
