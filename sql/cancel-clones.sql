-- Marks every unfinished clone of a task cancelled; running ones are killed by their worker. $1 task id
update clones set status = 'cancelled', error = coalesce(error, 'cancelled'), finished_at = now(), updated_at = now()
 where task_id = $1 and status not in ('succeeded', 'failed', 'timeout', 'cancelled', 'budget_exceeded')
returning *
