-- Takes the secrets lock alone until the transaction ends: waits for every set in flight and holds new
-- ones back while a rotation re-seals the rows. $1 the lock id
select pg_advisory_xact_lock($1)
