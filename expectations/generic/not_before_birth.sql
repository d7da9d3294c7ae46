-- rows whose ${column} lies before their patient's birth date
select t.* from {batch} t join staging.patients p on p.patient_id = t.patient_id where t.${column} < p.birth_date
