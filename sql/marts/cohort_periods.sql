-- one row per period (month, quarter or year) of the index date, a small first or last period merged into its neighbour: new cramp patients and cohort size
with

patient_flags as (
    select * from cohort.patient_flags
),

context as (
    select * from mart_context
),

-- the monthly mart of this build, already suppressed by its rules
monthly as (
    select * from {{ monthly_mart }}
),

new_by_period as (
    select
        date_trunc('{{ grain }}', index_date)::date as period_start,
        count(*)::bigint as new_cramp_patients,
    from patient_flags
    group by all
),

periods as (
    -- the series stands alone in its select: Spark refuses a generator inside a cast
    select cast(series_start as date) as period_start
    from (
        select unnest(generate_series(min(period_start), max(period_start), interval {{ step }})) as series_start
        from new_by_period
    )
),

numbered as (
    select
        periods.period_start,
        case '{{ grain }}'
            when 'month' then strftime(periods.period_start, '%Y-%m')
            when 'quarter' then strftime(periods.period_start, '%Y') || '-Q' || quarter(periods.period_start)
            else strftime(periods.period_start, '%Y')
        end as period_label,
        coalesce(new_by_period.new_cramp_patients, 0) as new_cramp_patients,
        row_number() over (order by periods.period_start) as position,
        count(*) over () as period_count,
    from periods
    left join new_by_period using (period_start)
),

-- An extract starts and ends part-way through a period, so its edge periods are the small ones; hidden, the first
-- would also hide every later cohort size. A first or last period of {{ small_min }} to {{ small_max }} patients
-- joins its neighbour, once per edge and only while more than two periods remain.
edges as (
    select
        coalesce(
            any_value(new_cramp_patients) filter (where position = 1) between {{ small_min }} and {{ small_max }}
            and any_value(period_count) > 2,
            false
        ) as merge_first,
        coalesce(
            any_value(new_cramp_patients) filter (where position = period_count)
                between {{ small_min }} and {{ small_max }}
            and any_value(period_count) - merge_first::integer > 2,
            false
        ) as merge_last,
    from numbered
),

merged as (
    select
        case
            when numbered.position = 1 and edges.merge_first then 2
            when numbered.position = numbered.period_count and edges.merge_last then numbered.period_count - 1
            else numbered.position
        end as merged_position,
        numbered.period_start,
        numbered.period_label,
        numbered.new_cramp_patients,
    from numbered
    cross join edges
),

rolled_up as (
    select
        min(period_start) as period_start,
        strftime(min(period_start), '%Y-%m') as first_month,
        strftime(max(period_start) + interval {{ step }} - interval 1 month, '%Y-%m') as last_month,
        arg_min(period_label, period_start) as first_label,
        arg_max(period_label, period_start) as last_label,
        sum(new_cramp_patients)::bigint as new_cramp_patients,
    from merged
    group by merged_position
),

-- A published period holding exactly one hidden month would give that month away (period minus its other
-- months): the suppression hides such a period (`hidden_months = 1`).
hidden_months as (
    select
        rolled_up.period_start,
        count(monthly.month) as hidden_months,
    from rolled_up
    left join monthly
        on monthly.month between rolled_up.first_month and rolled_up.last_month
        and monthly.new_cramp_patients_suppressed
    group by rolled_up.period_start
),

final as (
    select
        rolled_up.period_start,
        hidden_months.hidden_months,
        '{{ grain }}' as grain,
        rolled_up.first_label
            || case when rolled_up.last_label <> rolled_up.first_label then '–' || rolled_up.last_label else '' end
            as period,
        rolled_up.first_month,
        rolled_up.last_month,
        rolled_up.new_cramp_patients,
        sum(rolled_up.new_cramp_patients) over (order by rolled_up.period_start)::bigint as cohort_size,
        context.run_id,
        context.batch_id,
        context.phenotype_version,
    from rolled_up
    inner join hidden_months using (period_start)
    cross join context
)

select * from final
