-- 008: the gateway's metered totals of one clone, as one function every clone read joins laterally
-- (select-clone, select-clones, select-clones-of-tasks), so the sums are written once. errors counts requests
-- without a successful answer (an error status, none at all, or an error noted).
create function clone_metered(p_task_id uuid, p_clone_id uuid)
returns table (
  metered_requests           int,
  metered_input_tokens       bigint,
  metered_output_tokens      bigint,
  metered_cache_read_tokens  bigint,
  metered_cache_write_tokens bigint,
  metered_cost_usd           float8,
  metered_errors             int
)
language sql stable
as $$
  select count(*)::int,
         coalesce(sum(g.input_tokens), 0)::bigint,
         coalesce(sum(g.output_tokens), 0)::bigint,
         coalesce(sum(g.cache_read_tokens), 0)::bigint,
         coalesce(sum(g.cache_write_tokens), 0)::bigint,
         coalesce(sum(g.cost_usd), 0)::float8,
         (count(*) filter (where g.error is not null or g.status is null or g.status >= 400))::int
    from gateway_requests g
   where g.task_id = p_task_id and g.clone_id = p_clone_id
$$;
