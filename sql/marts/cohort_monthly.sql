-- one row per calendar month from the first to the last index month: new cramp patients and cohort size
with

patient_flags as (
    select * from cohort.patient_flags
),

context as (
    select * from mart_context
),

new_by_month as (
    select
        date_trunc('month', index_date)::date as month_start,
        count(*)::bigint as new_cramp_patients,
    from patient_flags
    group by all
),

month_bounds as (
    select
        min(month_start) as first_month,
        max(month_start) as last_month,
    from new_by_month
),

months as (
    -- the series stands alone in its select: Spark refuses a generator nested in a cast
    select cast(month_start as date) as month_start
    from (
        select unnest(generate_series(first_month, last_month, interval 1 month)) as month_start
        from month_bounds
    )
),

monthly as (
    select
        months.month_start,
        coalesce(new_by_month.new_cramp_patients, 0) as new_cramp_patients,
    from months
    left join new_by_month using (month_start)
),

final as (
    select
        month_start,
        strftime(month_start, '%Y-%m') as month,
        new_cramp_patients,
        sum(new_cramp_patients) over (order by month_start)::bigint as cohort_size,
        context.run_id,
        context.batch_id,
        context.phenotype_version,
    from monthly
    cross join context
)

select * from final
