-- Every sealed value, locked until the rotation's transaction ends.
select name, ciphertext, iv, auth_tag, key_id from secrets order by name for update
