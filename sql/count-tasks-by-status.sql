-- Number of tasks in each status.
select status, count(*)::int as n from tasks group by status
