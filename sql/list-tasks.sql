-- Newest tasks first, optionally of one status. $1 status or null, $2 limit, $3 offset
select * from tasks where ($1::text is null or status = $1) order by created_at desc, id limit $2 offset $3
