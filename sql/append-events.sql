-- Appends events in order under the event lock. Parallel arrays: $1 task ids, $2 clone ids, $3 types, $4 payloads
select id, created_at from kage_append_events($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[])
