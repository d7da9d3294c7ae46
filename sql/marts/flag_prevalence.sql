-- one row per flag, breakdown (overall / age_band / sex) and group: patients with the flag and in the group
with

patient_flags as (
    select * from cohort.patient_flags
),

context as (
    select * from mart_context
),

flag_catalog as (
    select * from mart_flag_catalog
),

patients as (
    select
        *,
        case
            when age_at_index is null then 'unknown'
            when age_at_index < 18 then '0-17'
            when age_at_index < 45 then '18-44'
            when age_at_index < 65 then '45-64'
            else '65+'
        end as age_band,
        case
            when upper(trim(sex)) in ('M', 'F') then upper(trim(sex))
            else 'other/unknown'
        end as sex_group,
    from patient_flags
),

long_flags as (
    -- the SQL-standard unpivot (DuckDB and Spark both read it)
    select *
    from patients
    unpivot (has_flag for flag in ({{ flag_columns }}))
),

stratified as (
    select
        flag,
        'overall' as breakdown,
        'all' as group_value,
        has_flag,
    from long_flags
    union all
    select
        flag,
        'age_band' as breakdown,
        age_band as group_value,
        has_flag,
    from long_flags
    union all
    select
        flag,
        'sex' as breakdown,
        sex_group as group_value,
        has_flag,
    from long_flags
),

counts as (
    select
        flag,
        breakdown,
        group_value,
        count_if(has_flag)::bigint as patients_with_flag,
        count(*)::bigint as patients_in_group,
    from stratified
    group by all
),

final as (
    select
        counts.flag,
        flag_catalog.label as flag_label,
        flag_catalog.flag_group,
        flag_catalog.flag_order,
        counts.breakdown,
        counts.group_value,
        counts.patients_with_flag,
        counts.patients_in_group,
        context.run_id,
        context.batch_id,
        context.phenotype_version,
    from counts
    inner join flag_catalog using (flag)
    cross join context
)

select * from final
