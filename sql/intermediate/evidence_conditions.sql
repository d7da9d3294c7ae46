-- one row per (diagnosis, cramp event) pair where the diagnosis is evidence of a flag at that cramp
-- (candidates: flag_evidence keeps each diagnosis once, against its closest cramp)
with

condition_windows as (
    select * exclude (phenotype_version) from intermediate.condition_windows
),

independent as (
    select * from condition_windows
    where requires_flag is null
),

required_flag_days as (
    select distinct
        patient_id,
        flag,
        cramp_date,
    from independent
),

dependent as (
    -- e.g. diabetes counts for diabetic_neuropathy only at a cramp where neuropathy is true
    select condition_windows.*
    from condition_windows
    semi join required_flag_days
        on condition_windows.patient_id = required_flag_days.patient_id
        and condition_windows.requires_flag = required_flag_days.flag
        and condition_windows.cramp_date = required_flag_days.cramp_date
    where condition_windows.requires_flag is not null
),

dependent_flag_days as (
    select distinct
        patient_id,
        flag,
        requires_flag,
        cramp_date,
    from dependent
),

required_evidence as (
    -- the required flag's own diagnoses at that cramp are evidence of the dependent flag too
    select
        independent.patient_id,
        dependent_flag_days.flag,
        independent.requires_flag,
        independent.value_set,
        independent.code_system,
        independent.code,
        independent.encounter_id,
        independent.evidence_date,
        independent.cramp_date,
    from independent
    inner join dependent_flag_days
        on independent.patient_id = dependent_flag_days.patient_id
        and independent.flag = dependent_flag_days.requires_flag
        and independent.cramp_date = dependent_flag_days.cramp_date
),

candidates as (
    select * from independent
    union all
    select * from dependent
    union all
    select * from required_evidence
),

final as (
    select distinct
        candidates.patient_id,
        flag,
        'condition' as source,
        value_set,
        code_system,
        code,
        encounter_id,
        evidence_date,
        cast(null as timestamp) as observed_at,
        cast(null as double) as value_normalized,
        cast(null as varchar) as unit_normalized,
        cramp_date,
        phenotype_version.phenotype_version,
    from candidates
    cross join ref.phenotype_version as phenotype_version
)

select * from final
