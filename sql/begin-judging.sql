-- Moves a task to judging once every clone is terminal; exactly one caller wins. $1 task id
update tasks set status = 'judging', updated_at = now()
 where id = $1 and status in ('pending', 'running')
   and not exists (select 1 from clones c where c.task_id = $1
                   and c.status not in ('succeeded', 'failed', 'timeout', 'cancelled', 'budget_exceeded'))
returning *
