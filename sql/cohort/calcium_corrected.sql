-- one row per usable total calcium on a patient-day without a usable ionized calcium, corrected for
-- the usable albumin closest in time within the pairing window (no albumin: the total as measured)
with

lab_results as (
    select * exclude (phenotype_version) from cohort.lab_results
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
    -- an ionized calcium on the same day decides over total calcium
    select
        row_number() over () as total_id,
        lab_results.*,
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
    -- the usable albumin closest in time within the pairing window; ties go to the later albumin
    select
        total_calcium.total_id,
        albumin.value_canonical as albumin_g_dl,
        row_number() over (
            partition by total_calcium.total_id
            order by
                abs(albumin.observation_date - total_calcium.observation_date),
                albumin.observation_date desc,
                albumin.observed_at desc
        ) as closeness_rank,
    from total_calcium
    inner join albumin
        on total_calcium.patient_id = albumin.patient_id
        and albumin.observation_date
            between total_calcium.observation_date - (select albumin_pairing_days from parameters)
            and total_calcium.observation_date + (select albumin_pairing_days from parameters)
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
        on total_calcium.total_id = albumin_ranked.total_id
        and albumin_ranked.closeness_rank = 1
)

select * from final
