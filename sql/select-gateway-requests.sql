-- The requests the gateway metered for one task, oldest first. $1 task id, $2 limit
select task_id, clone_id, provider, model, method, path, status, stream, input_tokens, output_tokens, cache_read_tokens,
       cache_write_tokens, cost_usd, latency_ms, ttfb_ms, started_at, error
  from gateway_requests
 where task_id = $1
 order by id
 limit $2
