-- Stores a new task and its clones in one statement (one round trip, one commit). The clones' foreign key
-- is checked at the end of the statement, when the task row exists.
-- $1 id, $2 description, $3 repo, $4 base_ref, $5 base_commit, $6 check_command, $7 setup_command,
-- $8 merge_strategy, $9 max_retries, $10 retry_delay_ms, $11 check_timeout_ms, $12 created_by, $13 token_budget
-- or null; the clones as parallel arrays: $14 ids, $15 names, $16 agents, $17 models, $18 options, $19 branches,
-- $20 timeouts (ms); $21 record, $22 replay_of (the recorded task, or null), $23 usd_budget or null. Returns the
-- task row with its clone rows as a JSON array in the given order.
with task as (
  insert into tasks (id, description, repo, base_ref, base_commit, check_command, setup_command, merge_strategy,
                     max_retries, retry_delay_ms, check_timeout_ms, created_by, token_budget, record, replay_of, usd_budget)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $21, $22, $23)
  returning *
), clone as (
  insert into clones (id, task_id, name, agent, model, options, branch, timeout_ms)
  select c.id, $1, c.name, c.agent, c.model, c.options, c.branch, c.timeout_ms
  from unnest($14::uuid[], $15::text[], $16::text[], $17::text[], $18::jsonb[], $19::text[], $20::int[])
    as c (id, name, agent, model, options, branch, timeout_ms)
  returning *
)
select task.*, (select json_agg(clone) from clone) as clone_rows
from task
