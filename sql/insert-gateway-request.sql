-- Records one request the gateway forwarded. $1 task id, $2 clone id (nullable), $3 provider, $4 model,
-- $5 method, $6 path, $7 status, $8 stream, $9..$12 input, output, cache read, cache write tokens,
-- $13 cost in USD, $14 latency ms, $15 time to first byte ms, $16 started at, $17 error
insert into gateway_requests (task_id, clone_id, provider, model, method, path, status, stream, input_tokens, output_tokens,
                              cache_read_tokens, cache_write_tokens, cost_usd, latency_ms, ttfb_ms, started_at, error)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
