-- Stores a new task. $1 id, $2 description, $3 repo, $4 base_ref, $5 base_commit, $6 check_command,
-- $7 setup_command, $8 merge_strategy, $9 max_retries, $10 retry_delay_ms, $11 check_timeout_ms, $12 created_by,
-- $13 token_budget or null
insert into tasks (id, description, repo, base_ref, base_commit, check_command, setup_command, merge_strategy,
                   max_retries, retry_delay_ms, check_timeout_ms, created_by, token_budget)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
returning *
