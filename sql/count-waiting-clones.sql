-- Clones waiting for a worker (queued, or retrying after a backoff): what a full queue means for new submissions.
select count(*)::int as n from clones where status in ('queued', 'retrying')
