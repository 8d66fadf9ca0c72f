-- Tasks not in a terminal state (for recovery).
select * from tasks where status not in ('completed', 'needs_review', 'failed', 'cancelled')
