-- One task by id. $1 id
select * from tasks where id = $1
