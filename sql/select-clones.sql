-- The clones of a task in creation order. $1 task_id
select * from clones where task_id = $1 order by created_at, name
