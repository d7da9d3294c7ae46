-- the rows of ${table}.csv in a batch ($$batch, filled in by the check) and in the accepted batch before it (by
-- batch id); the first accepted batch is the initial load of the history, no baseline for incremental deliveries
with per_batch as (
    select batch_id, sum(rows_read) as rows_read, bool_and(batch_state = 'accepted') as accepted
    from dq.batch_reconciliation
    where source_file = '${table}.csv'
    group by batch_id
),
initial_load as (
    select min(batch_id) as batch_id from per_batch where accepted
),
compared as (
    select batch_id, rows_read, lag(rows_read) over (order by batch_id) as previous_rows,
        lag(batch_id) over (order by batch_id) as previous_batch
    from per_batch
    where (accepted and batch_id <> (select batch_id from initial_load)) or batch_id = $$batch
)
select rows_read, previous_rows, previous_batch from compared where batch_id = $$batch
