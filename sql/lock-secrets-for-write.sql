-- Shares the secrets lock until the transaction ends, so a rotation cannot start between reading which key
-- the rows use and storing a value sealed with it. $1 the lock id
select pg_advisory_xact_lock_shared($1)
