-- The newest audit entries, of one secret or of all. $1 name (null: every secret), $2 limit
select id, at, action, name, actor, task_id, clone_id, origin, error, detail
  from secret_audit
 where $1::text is null or name = $1
 order by id desc
 limit $2
