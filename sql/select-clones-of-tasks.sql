-- The clones of several tasks (a page of the task list) in creation order, each with the gateway's metered
-- totals as in select-clones. $1 task ids (uuid[])
select c.*, m.*
  from clones c
  cross join lateral clone_metered(c.task_id, c.id) m
 where c.task_id = any($1::uuid[])
 order by c.created_at, c.name
