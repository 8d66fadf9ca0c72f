-- Metered totals of one task, one row per clone (clone_id null: the task's requests of no clone); errors
-- counts requests without a successful answer (an error status, none at all, or an error noted). $1 task id
select clone_id, count(*)::int as requests,
       coalesce(sum(input_tokens), 0)::bigint as input_tokens,
       coalesce(sum(output_tokens), 0)::bigint as output_tokens,
       coalesce(sum(cache_read_tokens), 0)::bigint as cache_read_tokens,
       coalesce(sum(cache_write_tokens), 0)::bigint as cache_write_tokens,
       coalesce(sum(cost_usd), 0)::float8 as cost_usd,
       count(*) filter (where error is not null or status is null or status >= 400)::int as errors
  from gateway_requests
 where task_id = $1
 group by clone_id
 order by clone_id nulls first
