-- one row per care gap type: cohort patients with the gap open (the totals of care_gaps_monthly)
with

care_gaps as (
    select * from cohort.care_gaps
),

patient_flags as (
    select * from cohort.patient_flags
),

context as (
    select * from mart_context
),

counts as (
    select
        care_gaps.gap,
        count(distinct care_gaps.patient_id)::bigint as patients,
    from care_gaps
    inner join patient_flags using (patient_id)
    group by all
),

final as (
    select
        counts.gap,
        counts.patients,
        context.run_id,
        context.batch_id,
        context.phenotype_version,
    from counts
    cross join context
)

select * from final
