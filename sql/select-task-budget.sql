-- What the gateway's budget needs of a task: its own token and USD budgets (null: the configured default) and
-- how many clones share them. $1 task id
select t.token_budget, t.usd_budget, (select count(*)::int from clones c where c.task_id = t.id) as clones
  from tasks t
 where t.id = $1
