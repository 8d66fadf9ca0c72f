-- Stores a sealed value, replacing the one stored under the name; `created` is true for a new name (a row
-- inserted by this statement has no xmax). $1 name, $2 ciphertext, $3 iv, $4 auth tag, $5 key id
insert into secrets (name, ciphertext, iv, auth_tag, key_id) values ($1, $2, $3, $4, $5)
on conflict (name) do update
   set ciphertext = excluded.ciphertext, iv = excluded.iv, auth_tag = excluded.auth_tag,
       key_id = excluded.key_id, updated_at = now()
returning (xmax = 0) as created, name, key_id, created_at, updated_at, last_read_at, read_count
