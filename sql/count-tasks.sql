-- Number of tasks, optionally of some statuses. $1 statuses (text[]) or null
select count(*)::int as n from tasks where ($1::text[] is null or status = any($1::text[]))
