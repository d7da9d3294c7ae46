-- rows whose PATIENT is no patient of staging.patients
select t.* from {batch} t left join staging.patients p on p.patient_id = t.patient_id where p.patient_id is null
