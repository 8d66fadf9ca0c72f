-- One sealed value by name. $1 name
select name, ciphertext, iv, auth_tag, key_id from secrets where name = $1
