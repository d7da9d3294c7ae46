-- one row per usable total calcium on a patient-day without a usable ionized calcium, corrected for
-- the usable albumin closest in time within the pairing window (no albumin: the total as measured)
with

lab_results as (
    select * exclude (phenotype_version) from intermediate.lab_results
    where usable
),

parameters as (
    select * from ref.parameters
),

ionized_days as (
    select distinct
        patient_id,
        observation_date,
    from lab_results
    where measure = 'calcium_ionized'
),

total_calcium as (
    -- an ionized calcium on the same day decides over total calcium (a censored total calcium is
    -- never usable, so none is corrected)
    select lab_results.*
    from lab_results
    anti join ionized_days
        on lab_results.patient_id = ionized_days.patient_id
        and lab_results.observation_date = ionized_days.observation_date
    where lab_results.measure = 'calcium_total'
),

albumin as (
    select * from lab_results
    where measure = 'albumin'
),

albumin_ranked as (
    -- the usable albumin whose timestamp is closest to the calcium's, at most the pairing window away
    -- (in time, not calendar days); ties go to the earlier albumin. A total calcium row is identified
    -- by its natural key (patient, encounter, code, time).
    select
        total_calcium.patient_id,
        total_calcium.encounter_id,
        total_calcium.code,
        total_calcium.observed_at,
        albumin.value_canonical as albumin_g_dl,
        row_number() over (
            partition by
                total_calcium.patient_id,
                total_calcium.encounter_id,
                total_calcium.code,
                total_calcium.observed_at
            order by
                abs(epoch(albumin.observed_at) - epoch(total_calcium.observed_at)),
                albumin.observed_at,
                albumin.code,
                albumin.encounter_id nulls first,
                albumin.value_canonical
        ) as closeness_rank,
    from total_calcium
    cross join parameters
    inner join albumin
        on total_calcium.patient_id = albumin.patient_id
        and albumin.observed_at
            between total_calcium.observed_at - to_days(parameters.albumin_pairing_days)
            and total_calcium.observed_at + to_days(parameters.albumin_pairing_days)
),

final as (
    select
        total_calcium.*,
        albumin_ranked.albumin_g_dl,
        -- corrected calcium = total + factor x (reference albumin - albumin); no albumin: total as
        -- measured
        round(
            case
                when albumin_ranked.albumin_g_dl is null then total_calcium.value_canonical
                else total_calcium.value_canonical
                    + parameters.albumin_correction_factor
                    * (parameters.albumin_reference_g_dl - albumin_ranked.albumin_g_dl)
            end,
            6
        ) as calcium_corrected_mg_dl,
        phenotype_version.phenotype_version,
    from total_calcium
    cross join parameters
    cross join ref.phenotype_version as phenotype_version
    left join albumin_ranked
        on total_calcium.patient_id = albumin_ranked.patient_id
        and total_calcium.encounter_id is not distinct from albumin_ranked.encounter_id
        and total_calcium.code = albumin_ranked.code
        and total_calcium.observed_at = albumin_ranked.observed_at
        and albumin_ranked.closeness_rank = 1
)

select * from final
