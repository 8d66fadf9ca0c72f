-- Replaces a secret's sealed value with the same value sealed under another key; its metadata is kept.
-- $1 name, $2 ciphertext, $3 iv, $4 auth tag, $5 key id
update secrets set ciphertext = $2, iv = $3, auth_tag = $4, key_id = $5 where name = $1
