-- one row per (diagnosis, flag rule of ref.flag_rules, cramp event) where the diagnosis lies in the
-- rule's window around that cramp (acute / chronic / lifelong) and the patient meets the rule's age
-- condition
with

condition_matches as (
    select * from intermediate.condition_matches
),

cramp_events as (
    select * from cohort.cramp_events
),

flag_rules as (
    select
        flag,
        value_set,
        "window",
        nullif(requires_flag, '') as requires_flag,
        nullif(age_rule, '') as age_rule,
    from ref.flag_rules
),

parameters as (
    select * from ref.parameters
),

cramp_days as (
    select distinct
        patient_id,
        event_date as cramp_date,
        age_years,
    from cramp_events
),

final as (
    select
        cramp_days.patient_id,
        flag_rules.flag,
        flag_rules.requires_flag,
        condition_matches.value_set,
        condition_matches.code_system,
        condition_matches.code,
        condition_matches.encounter_id,
        condition_matches.start_date as evidence_date,
        cramp_days.cramp_date,
        phenotype_version.phenotype_version,
    from cramp_days
    cross join parameters
    cross join ref.phenotype_version as phenotype_version
    inner join condition_matches
        on cramp_days.patient_id = condition_matches.patient_id
    inner join flag_rules
        on condition_matches.value_set = flag_rules.value_set
    where case flag_rules."window"
            -- acute: started in [C - 90, C + 30], or active on C
            when 'acute' then
                (condition_matches.start_date
                    between cramp_days.cramp_date - parameters.acute_days_before
                    and cramp_days.cramp_date + parameters.acute_days_after)
                or (condition_matches.start_date <= cramp_days.cramp_date
                    and coalesce(condition_matches.stop_date >= cramp_days.cramp_date, true))
            -- chronic: started by C + 30 and not stopped before C
            when 'chronic' then
                condition_matches.start_date
                    <= cramp_days.cramp_date + parameters.chronic_days_after
                and coalesce(condition_matches.stop_date >= cramp_days.cramp_date, true)
            -- lifelong: started by C + 30, STOP ignored
            when 'lifelong' then
                condition_matches.start_date
                    <= cramp_days.cramp_date + parameters.lifelong_days_after
        end
        and (flag_rules.age_rule is null
            or (flag_rules.age_rule = 'pediatric'
                and cramp_days.age_years < parameters.pediatric_age_years))
)

select * from final
