-- Records a generated API key by its hash. $1 SHA-256 hex, $2 prefix of the key
insert into api_keys (hash, prefix) values ($1, $2) on conflict (hash) do nothing
