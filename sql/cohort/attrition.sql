-- one row per step of the cohort definition, in order: staging, cramp, any primary risk, each
-- primary flag
with

patients as (
    select * from staging.patients
),

patient_flags as (
    select * from cohort.patient_flags
),

steps as (
    select
        1 as step_number,
        'patients in staging' as step,
        count(*) as patients,
    from patients
    union all
    select
        2 as step_number,
        'with at least one cramp event' as step,
        count(*) as patients,
    from patient_flags
    union all
    select
        3 as step_number,
        'of those, with any primary risk factor' as step,
        count(*) filter (where any_primary_risk) as patients,
    from patient_flags
    union all
    select
        4 as step_number,
        'primary risk factor: hypocalcemia' as step,
        count(*) filter (where hypocalcemia) as patients,
    from patient_flags
    union all
    select
        5 as step_number,
        'primary risk factor: neuropathy' as step,
        count(*) filter (where neuropathy) as patients,
    from patient_flags
    union all
    select
        6 as step_number,
        'primary risk factor: pad' as step,
        count(*) filter (where pad) as patients,
    from patient_flags
    union all
    select
        7 as step_number,
        'primary risk factor: pregnancy' as step,
        count(*) filter (where pregnancy) as patients,
    from patient_flags
),

final as (
    select
        steps.step_number,
        steps.step,
        cast(steps.patients as bigint) as patients,
        phenotype_version.phenotype_version,
    from steps
    cross join ref.phenotype_version as phenotype_version
    order by steps.step_number
)

select * from final
