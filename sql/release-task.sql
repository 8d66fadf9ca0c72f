-- Puts a running task back to pending when none of its clones runs any more (its clones were handed back
-- to the queue by a stopping worker), so nothing stays marked running. $1 task id
update tasks set status = 'pending', updated_at = now()
 where id = $1 and status = 'running'
   and not exists (select 1 from clones c where c.task_id = $1 and c.status in ('preparing', 'running'))
