-- 002: appends events in one round trip.
-- The advisory lock makes ids commit in order (a reader resuming after id N never misses a smaller id
-- committed later); it is held until the caller's transaction, a single statement here, commits.
create function kage_append_events(task_ids uuid[], clone_ids uuid[], types text[], payloads jsonb[])
returns table (id bigint, created_at timestamptz)
language plpgsql as $$
begin
  perform pg_advisory_xact_lock(7270002);
  return query
    insert into events (task_id, clone_id, type, payload)
    select * from unnest(task_ids, clone_ids, types, payloads)
    returning events.id, events.created_at;
end $$;
