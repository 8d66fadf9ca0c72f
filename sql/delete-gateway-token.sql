-- Revokes a gateway token. $1 SHA-256 hex of the token
delete from gateway_tokens where hash = $1
