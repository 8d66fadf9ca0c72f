-- Per-agent totals over all clones. Tokens and cost are the gateway's metered sums for a clone it metered,
-- else what the agent reported (as a clone record's `usage` and `costUsd`).
with metered as (
  select clone_id,
         sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens) as tokens,
         sum(cost_usd) as cost_usd
    from gateway_requests
   where clone_id is not null
   group by clone_id
)
select c.agent, count(*)::int as clones,
       count(*) filter (where c.status = 'succeeded')::int as succeeded,
       count(*) filter (where c.status in ('preparing', 'running'))::int as running,
       coalesce(sum(coalesce(m.tokens, c.input_tokens + c.output_tokens + c.cache_read_tokens + c.cache_write_tokens)), 0)::bigint as tokens,
       coalesce(sum(coalesce(m.cost_usd, c.cost_usd)), 0)::float8 as cost_usd
  from clones c
  left join metered m on m.clone_id = c.id
 group by c.agent order by c.agent
