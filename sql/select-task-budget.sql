-- What the gateway's budget needs of a task: its own token budget (null: the configured default) and how
-- many clones share it. $1 task id
select t.token_budget, (select count(*)::int from clones c where c.task_id = t.id) as clones
  from tasks t
 where t.id = $1
