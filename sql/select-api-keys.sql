-- Hashes of the generated API keys, oldest first.
select hash, prefix from api_keys order by id
