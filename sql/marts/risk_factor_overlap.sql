-- one row per combination of the four primary flags (all 16, zeros included): patients with exactly it
with

patient_flags as (
    select * from cohort.patient_flags
),

context as (
    select * from mart_context
),

combinations as (
    select
        hypocalcemia,
        neuropathy,
        pad,
        pregnancy,
    from (values (false), (true)) as h(hypocalcemia)
    cross join (values (false), (true)) as n(neuropathy)
    cross join (values (false), (true)) as a(pad)
    cross join (values (false), (true)) as p(pregnancy)
),

counts as (
    select
        coalesce(hypocalcemia, false) as hypocalcemia,
        coalesce(neuropathy, false) as neuropathy,
        coalesce(pad, false) as pad,
        coalesce(pregnancy, false) as pregnancy,
        count(*)::bigint as patients,
    from patient_flags
    group by all
),

final as (
    select
        combinations.hypocalcemia,
        combinations.neuropathy,
        combinations.pad,
        combinations.pregnancy,
        (
            combinations.hypocalcemia::integer + combinations.neuropathy::integer
            + combinations.pad::integer + combinations.pregnancy::integer
        ) as primary_flags_set,
        coalesce(
            nullif(
                concat_ws(
                    ' + ',
                    case when combinations.hypocalcemia then 'hypocalcemia' end,
                    case when combinations.neuropathy then 'neuropathy' end,
                    case when combinations.pad then 'pad' end,
                    case when combinations.pregnancy then 'pregnancy' end
                ),
                ''
            ),
            'none'
        ) as combination,
        coalesce(counts.patients, 0) as patients,
        context.run_id,
        context.batch_id,
        context.phenotype_version,
    from combinations
    left join counts using (hypocalcemia, neuropathy, pad, pregnancy)
    cross join context
)

select * from final
