-- Removes a worker that stopped cleanly. $1 id
delete from workers where id = $1
