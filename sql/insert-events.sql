-- Appends events in one statement. $1 task ids, $2 clone ids, $3 types, $4 payloads (parallel arrays)
insert into events (task_id, clone_id, type, payload)
select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[])
returning id, created_at
