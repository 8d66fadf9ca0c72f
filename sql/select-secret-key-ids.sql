-- The master key fingerprints the stored secrets are sealed with (one, except while a rotation runs).
select distinct key_id from secrets order by key_id
