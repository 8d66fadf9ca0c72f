-- The sequence number of a clone's next recorded exchange. $1 task id, $2 clone name
select coalesce(max(seq) + 1, 0)::int as next from gateway_recordings where task_id = $1 and clone_name = $2
