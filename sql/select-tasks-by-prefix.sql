-- Tasks whose id starts with a prefix (the CLI accepts short ids). $1 prefix (lower-case hex and dashes)
select * from tasks where id::text like $1 || '%' order by created_at desc limit 2
