-- Stores the judge's rank, score and reason for every clone of a task.
-- $1 task id; parallel arrays: $2 names, $3 ranks, $4 scores, $5 reasons
update clones c set rank = r.rank, score = r.score, reason = r.reason, updated_at = now()
  from unnest($2::text[], $3::int[], $4::float8[], $5::text[]) as r(name, rank, score, reason)
 where c.task_id = $1 and c.name = r.name
