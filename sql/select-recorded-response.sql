-- One recorded answer, for a replay to send. $1 recording id
select status, response_headers, response_body, chunk_sizes, chunk_offsets_ms, response_bytes, truncated, complete, stream, error
  from gateway_recordings
 where id = $1
