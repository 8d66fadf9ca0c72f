-- Counts a successful read of a secret. $1 name
update secrets set read_count = read_count + 1, last_read_at = now() where name = $1
