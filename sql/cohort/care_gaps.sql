-- one row per open care gap per cohort patient (a lab the cramp history calls for was never
-- checked)
with

patient_flags as (
    select * from cohort.patient_flags
),

cramp_events as (
    select * from cohort.cramp_events
),

lab_results as (
    -- every row with a lab code counts as checked, whatever its value or unit: the test was done
    select * from intermediate.lab_results
),

parameters as (
    select * from ref.parameters
),

last_cramps as (
    select
        patient_id,
        max(event_date) as last_cramp_date,
    from cramp_events
    group by patient_id
),

flagged_patients as (
    -- every gap looks from before the index cramp to a fixed time after the last cramp
    select
        patient_flags.*,
        last_cramps.last_cramp_date + parameters.gap_days_after_last_cramp as window_end,
    from patient_flags
    cross join parameters
    inner join last_cramps
        on patient_flags.patient_id = last_cramps.patient_id
),

indicated as (
    -- "hypocalcemia should be evaluated in patients with frequent cramps" (and in 22q11.2 deletion)
    select
        patient_id,
        'calcium_not_checked' as gap,
        concat_ws(', ',
            case when frequent_cramps then 'frequent_cramps' end,
            case when pediatric_22q11 then 'pediatric_22q11' end
        ) as indication,
        ['calcium_total', 'calcium_ionized'] as measures,
        index_date - parameters.gap_calcium_days_before_index as window_start,
        window_end,
    from flagged_patients
    cross join parameters
    where frequent_cramps or pediatric_22q11
    union all
    -- "peripheral arterial disease requires vascular assessment"
    select
        patient_id,
        'vascular_assessment_missing' as gap,
        concat_ws(', ',
            case when pad then 'pad' end,
            case when mimic_claudication then 'mimic_claudication' end
        ) as indication,
        ['abi'] as measures,
        index_date - parameters.gap_abi_days_before_index as window_start,
        window_end,
    from flagged_patients
    cross join parameters
    where pad or mimic_claudication
    union all
    select
        patient_id,
        'magnesium_not_checked' as gap,
        'frequent_cramps, hypocalcemia' as indication,
        ['magnesium'] as measures,
        index_date - parameters.gap_magnesium_days_before_index as window_start,
        window_end,
    from flagged_patients
    cross join parameters
    where frequent_cramps and hypocalcemia
),

checked as (
    select distinct
        indicated.patient_id,
        indicated.gap,
    from indicated
    inner join lab_results
        on indicated.patient_id = lab_results.patient_id
        and lab_results.observation_date between indicated.window_start and indicated.window_end
    where list_contains(indicated.measures, lab_results.measure)
),

final as (
    select
        indicated.patient_id,
        indicated.gap,
        indicated.indication
            || ': no ' || array_to_string(indicated.measures, ' or ') || ' lab from '
            || strftime(indicated.window_start, '%Y-%m-%d') || ' to '
            || strftime(indicated.window_end, '%Y-%m-%d') as reason,
        cast(indicated.window_start as date) as window_start,
        cast(indicated.window_end as date) as window_end,
        phenotype_version.phenotype_version,
    from indicated
    anti join checked
        on indicated.patient_id = checked.patient_id
        and indicated.gap = checked.gap
    cross join ref.phenotype_version as phenotype_version
)

select * from final
