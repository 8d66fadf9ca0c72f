-- The gateway's budget refusal of one clone, as its `budget_exceeded` event recorded it (the gateway stores the
-- event before it answers the refusal). $1 task id, $2 clone id
select payload->>'message' as message
  from events
 where task_id = $1 and clone_id = $2 and type = 'budget_exceeded'
 order by id desc
 limit 1
