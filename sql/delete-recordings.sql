-- Deletes a task's flight recording; returns how many exchanges went. $1 task id
with gone as (delete from gateway_recordings where task_id = $1 returning 1)
select count(*)::int as deleted from gone
