-- Every registered worker with the age of its heartbeat in milliseconds.
select id, hostname, pid, (extract(epoch from now() - heartbeat_at) * 1000)::bigint as heartbeat_age_ms from workers
