-- Number of tasks, optionally of one status. $1 status or null
select count(*)::int as n from tasks where ($1::text is null or status = $1)
