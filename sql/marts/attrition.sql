-- one row per step of the cohort definition, in order: patients remaining and the step they are a subset of
with

attrition as (
    select
        *,
        {{ step_order }} as step_order,
    from cohort.attrition
),

context as (
    select * from mart_context
),

ordered as (
    select
        row_number() over (order by step_order) as step_number,
        step,
        patients::bigint as patients,
    from attrition
),

with_parent as (
    select
        *,
        -- steps 2 and 3 narrow the previous step; every per-flag step after them is a subset of the cohort
        case
            when step_number = 1 then null
            when step_number <= 3 then lag(patients) over (order by step_number)
            else max(patients) filter (where step_number = 2) over ()
        end as parent_patients,
    from ordered
),

final as (
    select
        step_number,
        step,
        patients,
        parent_patients,
        context.run_id,
        context.batch_id,
        context.phenotype_version,
    from with_parent
    cross join context
)

select * from final
