-- Stores one exchange the flight recorder saw. $1 task id, $2 clone id (nullable), $3 clone name, $4 attempt,
-- $5 seq, $6 provider, $7 method, $8 path (query included, key redacted), $9 request headers (redacted, jsonb),
-- $10 request body, $11 status, $12 response headers (jsonb), $13 response body, $14 chunk sizes,
-- $15 chunk offsets (ms), $16 response bytes in full, $17 truncated, $18 stream, $19 workdir, $20 home,
-- $21 started at, $22 duration ms, $23 error, $24 complete
insert into gateway_recordings (task_id, clone_id, clone_name, attempt, seq, provider, method, path, request_headers,
                                request_body, status, response_headers, response_body, chunk_sizes, chunk_offsets_ms,
                                response_bytes, truncated, stream, workdir, home, started_at, duration_ms, error, complete)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)
