-- 003: the API server's own state, and the per-task token budget.
-- api_keys holds generated keys as SHA-256 hashes only (the key itself is written once to KAGE_HOME/api-key);
-- server_settings holds values every server process must share, such as the stream-token HMAC secret.

create table api_keys (
  id         bigint generated always as identity primary key,
  hash       text not null unique,
  prefix     text not null,
  created_at timestamptz not null default now()
);

create table server_settings (
  name  text primary key,
  value text not null
);

-- Accepted from the API now; enforced once the LLM gateway meters tokens.
alter table tasks add column token_budget bigint check (token_budget > 0);
