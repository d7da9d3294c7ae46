-- rows whose ${column} lies after their patient's death date
select t.* from {batch} t join staging.patients p on p.patient_id = t.patient_id where t.${column} > p.death_date
