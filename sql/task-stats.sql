-- Per-agent totals over all clones.
select agent, count(*)::int as clones,
       count(*) filter (where status = 'succeeded')::int as succeeded,
       count(*) filter (where status in ('preparing', 'running'))::int as running,
       coalesce(sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens), 0)::bigint as tokens,
       coalesce(sum(cost_usd), 0)::float8 as cost_usd
  from clones group by agent order by agent
