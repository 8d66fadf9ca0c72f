-- Claims a queued clone attempt for a worker and marks its task running; no row when another worker or
-- a cancel got there first. $1 clone id, $2 attempt, $3 worker id
with claimed as (
  update clones
     set status = 'preparing', worker_id = $3, updated_at = now(), started_at = coalesce(started_at, now()),
         pid = null, exit_code = null, exit_signal = null, error = null
   where id = $1 and attempt = $2 and status in ('queued', 'retrying')
     and exists (select 1 from tasks t where t.id = clones.task_id and t.status in ('pending', 'running'))
  returning *
), started as (
  update tasks set status = 'running', started_at = coalesce(started_at, now()), updated_at = now()
   where id = (select task_id from claimed) and status = 'pending'
)
select * from claimed
