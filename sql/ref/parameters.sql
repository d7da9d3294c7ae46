-- one row: every phenotype parameter of ref.phenotype_parameters as a typed column
-- (windows in days, thresholds in canonical units, ages in years)
with

parameters as (
    select * from ref.phenotype_parameters
),

numeric_values as (
    select
        parameter,
        cast(value as double) as value_number,
    from parameters
    where parameter <> 'phenotype_base_version'
),

final as (
    select
        max(value_number) filter (where parameter = 'acute_days_before')::integer
            as acute_days_before,
        max(value_number) filter (where parameter = 'acute_days_after')::integer
            as acute_days_after,
        max(value_number) filter (where parameter = 'chronic_days_after')::integer
            as chronic_days_after,
        max(value_number) filter (where parameter = 'lifelong_days_after')::integer
            as lifelong_days_after,
        max(value_number) filter (where parameter = 'lab_days_before')::integer as lab_days_before,
        max(value_number) filter (where parameter = 'lab_days_after')::integer as lab_days_after,
        max(value_number) filter (where parameter = 'lab_long_days_before')::integer
            as lab_long_days_before,
        max(value_number) filter (where parameter = 'lab_long_days_after')::integer
            as lab_long_days_after,
        max(value_number) filter (where parameter = 'pregnancy_max_days')::integer
            as pregnancy_max_days,
        max(value_number) filter (where parameter = 'pregnancy_days_after_evidence')::integer
            as pregnancy_days_after_evidence,
        max(value_number) filter (where parameter = 'pregnancy_hcg_after_outcome_days')::integer
            as pregnancy_hcg_after_outcome_days,
        max(value_number) filter (where parameter = 'frequent_min_events')::integer
            as frequent_min_events,
        max(value_number) filter (where parameter = 'frequent_window_days')::integer
            as frequent_window_days,
        max(value_number) filter (where parameter = 'albumin_pairing_days')::integer
            as albumin_pairing_days,
        max(value_number) filter (where parameter = 'gap_calcium_days_before_index')::integer
            as gap_calcium_days_before_index,
        max(value_number) filter (where parameter = 'gap_magnesium_days_before_index')::integer
            as gap_magnesium_days_before_index,
        max(value_number) filter (where parameter = 'gap_abi_days_before_index')::integer
            as gap_abi_days_before_index,
        max(value_number) filter (where parameter = 'gap_days_after_last_cramp')::integer
            as gap_days_after_last_cramp,
        max(value_number) filter (where parameter = 'calcium_corrected_low_mg_dl')
            as calcium_corrected_low_mg_dl,
        max(value_number) filter (where parameter = 'calcium_ionized_low_mmol_l')
            as calcium_ionized_low_mmol_l,
        max(value_number) filter (where parameter = 'albumin_correction_factor')
            as albumin_correction_factor,
        max(value_number) filter (where parameter = 'albumin_reference_g_dl')
            as albumin_reference_g_dl,
        max(value_number) filter (where parameter = 'magnesium_low_mg_dl') as magnesium_low_mg_dl,
        max(value_number) filter (where parameter = 'abi_low_ratio') as abi_low_ratio,
        max(value_number) filter (where parameter = 'hcg_positive_miu_ml') as hcg_positive_miu_ml,
        max(value_number) filter (where parameter = 'elderly_age_years')::integer
            as elderly_age_years,
        max(value_number) filter (where parameter = 'pediatric_age_years')::integer
            as pediatric_age_years,
    from numeric_values
)

select * from final
