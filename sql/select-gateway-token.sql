-- The task and clone a gateway token stands for. $1 SHA-256 hex of the token
select task_id, clone_id from gateway_tokens where hash = $1
