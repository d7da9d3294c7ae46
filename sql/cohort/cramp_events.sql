-- one row per cramp diagnosis event: a staged condition row coded in the cramp value set
with

condition_matches as (
    select * from intermediate.condition_matches
),

cramps as (
    select
        patient_id,
        encounter_id,
        code_system,
        code,
        start_date as event_date,
    from condition_matches
    where value_set = 'cramp'
),

patients as (
    select * from staging.patients
),

nocturnal_codes as (
    select distinct
        patient_id,
        encounter_id,
        code_system,
        code,
        start_date as event_date,
    from condition_matches
    where value_set = 'nocturnal_cramp'
),

final as (
    select
        cramps.patient_id,
        cramps.event_date,
        cramps.code_system,
        cramps.code,
        cramps.encounter_id,
        nocturnal_codes.patient_id is not null as nocturnal,
        -- whole years at the event, birthday-aware (a 29 February birthday counts from 1 March)
        cast(
            year(cramps.event_date) - year(patients.birth_date)
            - case
                when month(cramps.event_date) * 100 + day(cramps.event_date)
                    < month(patients.birth_date) * 100 + day(patients.birth_date)
                    then 1
                else 0
            end
            as integer
        ) as age_years,
        phenotype_version.phenotype_version,
    from cramps
    left join nocturnal_codes
        on cramps.patient_id = nocturnal_codes.patient_id
        and cramps.encounter_id is not distinct from nocturnal_codes.encounter_id
        and cramps.code_system = nocturnal_codes.code_system
        and cramps.code = nocturnal_codes.code
        and cramps.event_date = nocturnal_codes.event_date
    left join patients
        on cramps.patient_id = patients.patient_id
    cross join ref.phenotype_version as phenotype_version
)

select * from final
