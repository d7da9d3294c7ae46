-- one row per piece of evidence behind a flag, reported once against the qualifying cramp event
-- closest in time (ties: the earlier cramp); a code in two value sets of one flag (I70.211 is in
-- `pad` and `claudication`) is reported under the flag's own value set, else the first by name
with

evidence_conditions as (
    select * from intermediate.evidence_conditions
),

evidence_labs as (
    select * from intermediate.evidence_labs
),

evidence_pregnancy as (
    select * from intermediate.evidence_pregnancy
),

evidence_age as (
    select * from intermediate.evidence_age
),

evidence_cramp_patterns as (
    select * from intermediate.evidence_cramp_patterns
),

candidates as (
    -- the evidence tables share one column list in one order (sql/intermediate/schema.yml, held by the
    -- contract tests), so a positional union lines them up on every engine
    select * from evidence_conditions
    union all
    select * from evidence_labs
    union all
    select * from evidence_pregnancy
    union all
    select * from evidence_age
    union all
    select * from evidence_cramp_patterns
),

ranked as (
    select
        *,
        date_diff('day', cramp_date, evidence_date) as days_from_cramp,
        row_number() over (
            partition by
                patient_id,
                flag,
                source,
                code_system,
                code,
                encounter_id,
                evidence_date,
                observed_at
            order by
                abs(date_diff('day', cramp_date, evidence_date)),
                cramp_date,
                value_set = flag desc,
                value_set
        ) as closeness_rank,
    from candidates
),

final as (
    select
        patient_id,
        flag,
        source,
        value_set,
        code_system,
        code,
        encounter_id,
        evidence_date,
        observed_at,
        value_normalized,
        unit_normalized,
        cramp_date,
        days_from_cramp,
        phenotype_version,
    from ranked
    where closeness_rank = 1
)

select * from final
