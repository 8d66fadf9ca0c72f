-- Clones that are not terminal, with their task's status (for recovery and the orphan sweep).
select c.*, t.status as task_status from clones c join tasks t on t.id = c.task_id
 where c.status not in ('succeeded', 'failed', 'timeout', 'cancelled', 'budget_exceeded')
