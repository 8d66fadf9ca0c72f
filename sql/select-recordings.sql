-- Every exchange recorded for a task, oldest first, answers included. $1 task id, $2 limit
select *
  from gateway_recordings
 where task_id = $1
 order by clone_name, attempt, seq, id
 limit $2
