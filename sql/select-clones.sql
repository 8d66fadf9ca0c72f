-- The clones of a task in creation order, each with the gateway's metered totals over its requests (the
-- metered_* columns; metered_requests 0 when none). $1 task_id
select c.*, m.*
  from clones c
  cross join lateral (
    select count(*)::int as metered_requests,
           coalesce(sum(g.input_tokens), 0)::bigint as metered_input_tokens,
           coalesce(sum(g.output_tokens), 0)::bigint as metered_output_tokens,
           coalesce(sum(g.cache_read_tokens), 0)::bigint as metered_cache_read_tokens,
           coalesce(sum(g.cache_write_tokens), 0)::bigint as metered_cache_write_tokens,
           coalesce(sum(g.cost_usd), 0)::float8 as metered_cost_usd,
           count(*) filter (where g.error is not null or g.status is null or g.status >= 400)::int as metered_errors
      from gateway_requests g
     where g.task_id = c.task_id and g.clone_id = c.id
  ) m
 where c.task_id = $1
 order by c.created_at, c.name
