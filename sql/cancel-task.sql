-- Marks a task cancelled unless it already finished. $1 task id, $2 reason
update tasks set status = 'cancelled', error = coalesce(error, $2), completed_at = now(), updated_at = now()
 where id = $1 and status not in ('completed', 'needs_review', 'failed', 'cancelled')
returning *
