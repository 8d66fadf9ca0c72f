-- One clone by id, with the gateway's metered totals (clone_metered, migration 008). $1 id
select c.*, m.*
  from clones c
  cross join lateral clone_metered(c.task_id, c.id) m
 where c.id = $1
