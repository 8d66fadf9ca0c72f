-- Registers a worker process or refreshes its heartbeat. $1 id, $2 hostname, $3 pid
insert into workers (id, hostname, pid) values ($1, $2, $3)
on conflict (id) do update set heartbeat_at = now()
