-- every row of a natural key held by more than one row (keys narrowed by their hash first: 2x faster at 20M rows)
select t.* from {batch} t join (select ${key_columns} from {batch} where hash(${key_columns}) in (select hash(${key_columns}) from {batch} group by all having count(*) > 1) group by all having count(*) > 1) d on ${key_match}
