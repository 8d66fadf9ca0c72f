-- The clones of a task in creation order, each with the gateway's metered totals (clone_metered, migration 008: the
-- metered_* columns; metered_requests 0 when none). $1 task_id
select c.*, m.*
  from clones c
  cross join lateral clone_metered(c.task_id, c.id) m
 where c.task_id = $1
 order by c.created_at, c.name
