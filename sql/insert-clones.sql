-- Stores the clones of a new task in one statement, in the given order.
-- Parallel arrays: $1 ids, $2 task ids, $3 names, $4 agents, $5 models, $6 options, $7 branches, $8 timeouts (ms)
insert into clones (id, task_id, name, agent, model, options, branch, timeout_ms)
select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::text[], $8::int[])
returning *
