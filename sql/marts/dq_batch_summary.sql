-- one row per batch: row fates summed over files and data-quality checks run / failed
with

batch_reconciliation as (
    select * from {{ batch_reconciliation }}
),

check_results as (
    select * from {{ check_results }}
),

context as (
    select * from mart_context
),

fates as (
    select
        batch_id,
        count(distinct source_file)::bigint as files,
        sum(rows_read)::bigint as rows_read,
        sum(rows_loaded)::bigint as rows_loaded,
        sum(rows_quarantined)::bigint as rows_quarantined,
        sum(rows_superseded)::bigint as rows_superseded,
        -- rows of a batch that was not accepted: kept in raw, never loaded
        sum(coalesce(rows_held, 0))::bigint as rows_held,
    from batch_reconciliation
    group by all
),

checks_per_batch as (
    -- a check counts as failed for a batch when it failed in any run of that batch
    select
        batch_id,
        table_name,
        check_name,
        any_value(severity) as severity,
        bool_or(status = 'fail') as failed,
    from check_results
    group by all
),

checks as (
    select
        batch_id,
        count(*)::bigint as checks_run,
        count_if(failed)::bigint as checks_failed,
        count_if(failed and severity = 'error')::bigint as error_checks_failed,
        count_if(failed and severity = 'warn')::bigint as warn_checks_failed,
    from checks_per_batch
    group by all
),

final as (
    select
        coalesce(fates.batch_id, checks.batch_id) as source_batch_id,
        coalesce(fates.files, 0) as files,
        coalesce(fates.rows_read, 0) as rows_read,
        coalesce(fates.rows_loaded, 0) as rows_loaded,
        coalesce(fates.rows_quarantined, 0) as rows_quarantined,
        coalesce(fates.rows_superseded, 0) as rows_superseded,
        coalesce(fates.rows_held, 0) as rows_held,
        coalesce(checks.checks_run, 0) as checks_run,
        coalesce(checks.checks_failed, 0) as checks_failed,
        coalesce(checks.error_checks_failed, 0) as error_checks_failed,
        coalesce(checks.warn_checks_failed, 0) as warn_checks_failed,
        context.run_id,
        context.batch_id,
        context.phenotype_version,
    from fates
    full outer join checks using (batch_id)
    cross join context
)

select * from final
