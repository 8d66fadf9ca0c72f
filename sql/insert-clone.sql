-- Stores one clone of a task. $1 id, $2 task_id, $3 name, $4 agent, $5 model, $6 options, $7 branch, $8 timeout_ms
insert into clones (id, task_id, name, agent, model, options, branch, timeout_ms)
values ($1, $2, $3, $4, $5, $6, $7, $8)
returning *
