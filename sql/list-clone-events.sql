-- Events of one clone after a sequence number, oldest first. $1 task id, $2 clone id, $3 after id, $4 limit
select * from events where task_id = $1 and clone_id = $2 and id > $3 order by id limit $4
