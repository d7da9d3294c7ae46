-- one row per pregnancy episode per patient after overlapping episodes are merged
with

pregnancy_intervals as (
    select * from intermediate.pregnancy_intervals
    -- a STOP before the (week-shifted) start leaves no episode
    where episode_end >= episode_start
),

-- Both windows below order by the interval, then by the key of intermediate.pregnancy_intervals: two evidence rows
-- with the same interval must be seen in the same order by both, or the second window can number them NULL and 1
-- (two episodes where there is one).
ordered as (
    select
        patient_id,
        is_male,
        episode_start,
        episode_end,
        source,
        code_system,
        code,
        encounter_id,
        evidence_date,
        observed_at,
        -- the latest end of any earlier episode: a start after it opens a new merged episode
        max(episode_end) over (
            partition by patient_id
            order by
                episode_start,
                episode_end,
                source,
                code_system,
                code,
                encounter_id,
                evidence_date,
                observed_at
            rows between unbounded preceding and 1 preceding
        ) as previous_end,
    from pregnancy_intervals
),

numbered as (
    select
        *,
        cast(sum(case when previous_end is null or episode_start > previous_end then 1 end) over (
            partition by patient_id
            order by
                episode_start,
                episode_end,
                source,
                code_system,
                code,
                encounter_id,
                evidence_date,
                observed_at
            rows between unbounded preceding and current row
        ) as integer) as episode_number,
    from ordered
),

merged as (
    select
        patient_id,
        episode_number,
        bool_or(is_male) as is_male,
        min(episode_start) as episode_start,
        max(episode_end) as episode_end,
        count(*) as start_evidence_rows,
    from numbered
    group by
        patient_id,
        episode_number
),

final as (
    select
        merged.*,
        phenotype_version.phenotype_version,
    from merged
    cross join ref.phenotype_version as phenotype_version
)

select * from final
