-- 006: the gateway's flight recorder. A task with `record` has every request/response pair of its clones'
-- model traffic stored in gateway_recordings (credentials redacted), and a task with `replay_of` has its
-- clones' model traffic answered from the recording of that task instead of a provider. gateway_tokens
-- keeps with each token what the gateway should do with its traffic (record or replay, and where), so a
-- `kage gateway` in another process does the same.

alter table tasks
  add column record    boolean not null default false,
  add column replay_of uuid references tasks (id) on delete set null;

alter table gateway_tokens add column flight jsonb;

create table gateway_recordings (
  id               bigserial primary key,
  task_id          uuid not null references tasks (id) on delete cascade,
  clone_id         uuid references clones (id) on delete cascade,
  -- A replay finds a clone's exchanges by the clone's name: a replayed task has new clone ids.
  clone_name       text not null,
  attempt          integer not null,
  -- Order of arrival at the gateway among the clone's exchanges (over all its attempts).
  seq              integer not null,
  provider         text not null,
  method           text not null,
  -- After the provider prefix, with the query string; a `key` parameter is redacted.
  path             text not null,
  request_headers  jsonb not null,
  request_body     bytea not null,
  -- Null when the client went away before any answer.
  status           integer,
  response_headers jsonb not null,
  -- The answer's bytes as the client got them, up to the recorder's cap; the chunks as they passed, by size,
  -- and when each arrived (ms after the answer's headers), so a replay can stream them the same way.
  response_body    bytea not null,
  chunk_sizes      integer[] not null,
  chunk_offsets_ms double precision[] not null,
  -- The answer's full size: past the cap it is counted, not kept, and `truncated` is set.
  response_bytes   bigint not null,
  truncated        boolean not null,
  -- False when the answer broke off (upstream failure, client gone): a replay breaks off after the last chunk too.
  complete         boolean not null,
  stream           boolean not null,
  -- The clone's worktree and HOME in the recorded run: a replay puts its own in their place in the answers.
  workdir          text,
  home             text,
  started_at       timestamptz not null,
  duration_ms      integer not null,
  error            text
);
create index gateway_recordings_replay_idx on gateway_recordings (task_id, clone_name, attempt, seq);
