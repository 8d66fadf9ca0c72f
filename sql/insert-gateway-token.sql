-- Records a per-clone gateway token by its hash. $1 SHA-256 hex, $2 task id, $3 clone id (nullable),
-- $4 what the flight recorder does with the clone's traffic (jsonb, nullable)
insert into gateway_tokens (hash, task_id, clone_id, flight) values ($1, $2, $3, $4) on conflict (hash) do nothing
