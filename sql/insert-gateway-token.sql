-- Records a per-clone gateway token by its hash. $1 SHA-256 hex, $2 task id, $3 clone id (nullable)
insert into gateway_tokens (hash, task_id, clone_id) values ($1, $2, $3) on conflict (hash) do nothing
