-- Of the given tasks, those in a terminal state (or gone): the gateway drops its budget totals of them.
-- $1 task ids
select x.id
  from unnest($1::uuid[]) as x (id)
  left join tasks t on t.id = x.id
 where t.id is null or t.status in ('completed', 'needs_review', 'failed', 'cancelled')
