-- Removes a secret; no row when there was none. $1 name
delete from secrets where name = $1 returning name
