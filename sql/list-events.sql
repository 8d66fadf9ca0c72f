-- Events of a task after a sequence number, oldest first. $1 task id, $2 after id, $3 limit
select * from events where task_id = $1 and id > $2 order by id limit $3
