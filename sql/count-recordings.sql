-- How many exchanges were recorded for each clone of a task. $1 task id
select clone_name, count(*)::int as exchanges
  from gateway_recordings
 where task_id = $1
 group by clone_name
 order by clone_name
