-- Clones that reached a terminal state, per agent and status. A terminal status never changes again, so
-- each count only grows (the metrics export them as counters).
select agent, status, count(*)::int as clones
  from clones
 where status in ('succeeded', 'failed', 'timeout', 'cancelled', 'budget_exceeded')
 group by agent, status order by agent, status
