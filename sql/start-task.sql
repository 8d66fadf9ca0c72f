-- Marks a pending task running when its first clone starts. $1 task id
update tasks set status = 'running', started_at = coalesce(started_at, now()), updated_at = now()
 where id = $1 and status = 'pending'
