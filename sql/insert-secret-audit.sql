-- Appends one entry to the secrets audit log. $1 action, $2 name (null for a rotation), $3 actor,
-- $4 task id, $5 clone id, $6 origin (user@host:pid), $7 error code (null on success), $8 detail
insert into secret_audit (action, name, actor, task_id, clone_id, origin, error, detail)
values ($1, $2, $3, $4, $5, $6, $7, $8)
