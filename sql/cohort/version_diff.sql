-- one row per patient and flag whose value differs between the previous run's flags (the baseline) and
-- cohort.patient_flags; a patient outside the cohort has every flag false (absent), and `in_cohort` is the
-- cohort membership itself
with

previous_flags as (
    select * from cohort.patient_flags_baseline
),

current_flags as (
    select * from cohort.patient_flags
),

context as (
    select * from version_diff_context
),

previous_long as (
    select
        patient_id,
        flag,
        is_set,
    from (
        select
            patient_id,
            true as in_cohort,
            {{ previous_columns }},
        from previous_flags
    )
    unpivot (is_set for flag in ({{ flag_list }}))
),

current_long as (
    select
        patient_id,
        flag,
        is_set,
    from (
        select
            patient_id,
            true as in_cohort,
            {{ current_columns }},
        from current_flags
    )
    unpivot (is_set for flag in ({{ flag_list }}))
),

compared as (
    -- a full outer join: a patient who entered or left the cohort has rows on one side only
    select
        coalesce(previous_long.patient_id, current_long.patient_id) as patient_id,
        coalesce(previous_long.flag, current_long.flag) as flag,
        coalesce(previous_long.is_set, false) as previous_value,
        coalesce(current_long.is_set, false) as current_value,
        previous_long.patient_id is not null as previous_in_cohort,
        current_long.patient_id is not null as current_in_cohort,
    from previous_long
    full outer join current_long
        on previous_long.patient_id = current_long.patient_id
        and previous_long.flag = current_long.flag
),

final as (
    select
        compared.patient_id,
        compared.flag,
        context.previous_version,
        context.current_version,
        compared.previous_value,
        compared.current_value,
        compared.previous_in_cohort,
        compared.current_in_cohort,
        context.run_id,
        context.diffed_at,
    from compared
    cross join context
    where compared.previous_value <> compared.current_value
    order by
        compared.flag,
        compared.patient_id
)

select * from final
