-- Every secret's metadata, by name; never the sealed value.
select name, key_id, created_at, updated_at, last_read_at, read_count from secrets order by name
