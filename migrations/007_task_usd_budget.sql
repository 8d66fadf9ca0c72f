-- 007: a USD budget per task, enforced by the LLM gateway like the token budget (by its price table, on the
-- metered cost). Null: the default of the gateway that enforces it (budgets.taskUsd, KAGE_USD_BUDGET).

alter table tasks add column usd_budget double precision check (usd_budget > 0);
