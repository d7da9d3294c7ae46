-- one row per flag and direction (entered / left) of the latest phenotype version change: patients whose flag moved
with

version_diff as (
    select * from {{ version_diff }}
),

version_runs as (
    select * from {{ version_runs }}
),

flag_catalog as (
    select * from mart_flag_catalog
),

context as (
    select * from mart_context
),

last_change as (
    -- the run that wrote the current diff; no row (and no mart rows) before the first version change
    select
        previous_version,
        phenotype_version as current_version,
        run_id as diff_run_id,
        recorded_at as diffed_at,
        input_changed,
    from version_runs
    where version_changed
    order by
        recorded_at desc
    limit 1
),

flags as (
    -- the cohort membership first, then the flags in their display order
    select
        'in_cohort' as flag,
        'In the cramp cohort' as flag_label,
        'cohort' as flag_group,
        0::bigint as flag_order,
    union all
    select
        flag,
        label as flag_label,
        flag_group,
        flag_order::bigint as flag_order,
    from flag_catalog
),

directions as (
    select
        unnest(['entered', 'left']) as change,
),

moves as (
    select
        flag,
        case when current_value then 'entered' else 'left' end as change,
        count(distinct patient_id)::bigint as patients,
    from version_diff
    group by all
),

final as (
    select
        flags.flag,
        flags.flag_label,
        flags.flag_group,
        flags.flag_order,
        directions.change,
        coalesce(moves.patients, 0) as patients,
        last_change.previous_version,
        last_change.current_version,
        last_change.diff_run_id,
        last_change.diffed_at,
        last_change.input_changed,
        context.run_id,
        context.batch_id,
        context.phenotype_version,
    from last_change
    cross join flags
    cross join directions
    left join moves
        on flags.flag = moves.flag
        and directions.change = moves.change
    cross join context
)

select * from final
