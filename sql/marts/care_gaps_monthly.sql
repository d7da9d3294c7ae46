-- one row per care gap type and index month (month the patient entered the cohort): patients with the gap open
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

gap_patients as (
    select distinct
        care_gaps.gap,
        care_gaps.patient_id,
        date_trunc('month', patient_flags.index_date)::date as month_start,
    from care_gaps
    inner join patient_flags using (patient_id)
),

counts as (
    select
        gap,
        month_start,
        count(*)::bigint as patients,
    from gap_patients
    group by all
),

final as (
    select
        counts.gap,
        counts.month_start,
        strftime(counts.month_start, '%Y-%m') as month,
        counts.patients,
        context.run_id,
        context.batch_id,
        context.phenotype_version,
    from counts
    cross join context
)

select * from final
