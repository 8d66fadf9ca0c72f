-- 001: tasks, clones, events and workers.
-- Tasks and clones are mutable state; events are append-only with a global sequence (the SSE id).

create table tasks (
  id               uuid primary key,
  description      text not null,
  repo             text not null,
  base_ref         text not null,
  base_commit      text not null,
  check_command    text,
  setup_command    text,
  merge_strategy   text not null check (merge_strategy in ('theirs', 'auto', 'manual')),
  max_retries      integer not null,
  retry_delay_ms   integer not null,
  check_timeout_ms integer not null,
  status           text not null default 'pending',
  created_by       text,
  best_clone       text,
  merge_status     text not null default 'none',
  merge_commit     text,
  merge_branch     text,
  merge_message    text,
  conflicts        jsonb not null default '[]',
  error            text,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  started_at       timestamptz,
  completed_at     timestamptz
);
create index tasks_created_at_idx on tasks (created_at desc);
create index tasks_status_idx on tasks (status);

create table clones (
  id                 uuid primary key,
  task_id            uuid not null references tasks (id) on delete cascade,
  name               text not null,
  agent              text not null,
  model              text,
  options            jsonb not null default '{}',
  status             text not null default 'queued',
  branch             text not null,
  worktree           text,
  timeout_ms         integer not null,
  attempt            integer not null default 0,
  retries            integer not null default 0,
  worker_id          text,
  pid                integer,
  session_id         text,
  exit_code          integer,
  exit_signal        text,
  error              text,
  input_tokens       bigint not null default 0,
  output_tokens      bigint not null default 0,
  cache_read_tokens  bigint not null default 0,
  cache_write_tokens bigint not null default 0,
  cost_usd           double precision not null default 0,
  duration_ms        bigint,
  diff_files         jsonb,
  insertions         integer,
  deletions          integer,
  head_commit        text,
  check_status       text,
  check_output       text,
  score              double precision,
  rank               integer,
  reason             text,
  last_event         text,
  started_at         timestamptz,
  finished_at        timestamptz,
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now(),
  unique (task_id, name)
);
create index clones_status_idx on clones (status);

create table events (
  id         bigserial primary key,
  task_id    uuid not null references tasks (id) on delete cascade,
  clone_id   uuid references clones (id) on delete cascade,
  type       text not null,
  payload    jsonb not null default '{}',
  created_at timestamptz not null default now()
);
create index events_task_idx on events (task_id, id);

-- One row per running kage process that executes clone jobs; used to find work orphaned by a crash.
create table workers (
  id           text primary key,
  hostname     text not null,
  pid          integer not null,
  started_at   timestamptz not null default now(),
  heartbeat_at timestamptz not null default now()
);

-- NOTIFY is a wake-up hint for readers in other processes; the events table stays the truth.
create function kage_notify_event() returns trigger language plpgsql as $$
begin
  perform pg_notify('kage_events', new.task_id::text || ':' || new.id::text);
  return null;
end $$;
create trigger events_notify after insert on events for each row execute function kage_notify_event();
