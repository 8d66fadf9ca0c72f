-- The task and clone a gateway token stands for, and what the flight recorder does with its traffic.
-- $1 SHA-256 hex of the token
select task_id, clone_id, flight from gateway_tokens where hash = $1
