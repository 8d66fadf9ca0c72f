-- The clones of several tasks (a page of the task list) in creation order. $1 task ids (uuid[])
select * from clones where task_id = any($1::uuid[]) order by created_at, name
