-- Stores a setting unless one exists, and returns the value that won. $1 name, $2 value to store if none
with inserted as (
  insert into server_settings (name, value) values ($1, $2) on conflict (name) do nothing returning value
)
select value from inserted
union all
select value from server_settings where name = $1 and not exists (select 1 from inserted)
