-- rows whose ${column} lies after today
select * from {batch} where ${column} > current_date
