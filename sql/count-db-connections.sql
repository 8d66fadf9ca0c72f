-- Connections to the current database from every client (this server's pools, other kage processes, psql).
select count(*)::int as n from pg_stat_activity where datname = current_database()
