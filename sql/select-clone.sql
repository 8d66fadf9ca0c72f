-- One clone by id. $1 id
select * from clones where id = $1
