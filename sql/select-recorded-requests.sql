-- The requests of one attempt of one recorded clone, in the order they arrived, for a replay to match
-- against (answers are read one at a time with select-recorded-response). $1 task id, $2 clone name, $3 attempt
select id, seq, provider, method, path, request_headers, request_body, workdir, home
  from gateway_recordings
 where task_id = $1 and clone_name = $2 and attempt = $3
 order by seq, id
