-- Newest tasks first, optionally of some statuses. $1 statuses (text[]) or null, $2 limit, $3 offset
select * from tasks where ($1::text[] is null or status = any($1::text[])) order by created_at desc, id limit $2 offset $3
