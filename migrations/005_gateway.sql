-- 005: the LLM gateway's per-clone tokens and its metering of every model request.
-- gateway_tokens holds SHA-256 hashes of the tokens clones send as their API key, so that a gateway in
-- another process (`kage gateway`) can tell which clone a token stands for; a row lives while its clone
-- attempt runs. gateway_requests has one row per request the gateway forwarded, with input tokens counted
-- without the cached part (see domain/gateway.ts).

create table gateway_tokens (
  hash       text primary key,
  task_id    uuid not null references tasks (id) on delete cascade,
  clone_id   uuid references clones (id) on delete cascade,
  created_at timestamptz not null default now()
);

create table gateway_requests (
  id                 bigserial primary key,
  task_id            uuid not null references tasks (id) on delete cascade,
  clone_id           uuid references clones (id) on delete cascade,
  provider           text not null,
  model              text,
  method             text not null,
  path               text not null,
  status             integer,
  stream             boolean not null,
  input_tokens       bigint not null default 0,
  output_tokens      bigint not null default 0,
  cache_read_tokens  bigint not null default 0,
  cache_write_tokens bigint not null default 0,
  cost_usd           double precision not null default 0,
  latency_ms         integer not null,
  ttfb_ms            integer,
  started_at         timestamptz not null,
  error              text
);
create index gateway_requests_task_idx on gateway_requests (task_id, clone_id);
